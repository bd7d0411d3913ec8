#!/usr/bin/env node
// s3-peer.js: runs npm s3rver 3.7.1 (started by scripts/s3-peer.sh) with a
// SigV4 check in front of it. s3rver 3.7.1 only looks up the access key id of
// a V4 request and never checks its signature ("Signature version 4
// calculation is unimplemented" in its authentication middleware), so by
// itself it cannot prove that phifs signs. This middleware recomputes every
// signature from the AWS specification with the account's secret, an
// implementation independent of tools/phifs-backup/sigv4.c, and answers like
// S3: 403 SignatureDoesNotMatch / InvalidAccessKeyId / RequestTimeTooSkewed /
// AccessDenied (unsigned), 400 AuthorizationHeaderMalformed (wrong region).
// Test peer only: listens on 127.0.0.1, credentials S3RVER / S3RVER.
//
// --object-lock on: emulates a bucket with Object Lock enabled (s3rver has
// none): answers GET ?object-lock with an enabled configuration, and refuses
// (400 InvalidRequest) a PUT outside locks/ without a signed
// x-amz-checksum-sha256, logging each PUT's retention headers.
//
// usage: node s3-peer.js --dir D --port P --region R [--cert F --key F] [--object-lock on] BUCKET...
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const S3rver = require('s3rver');

const SECRETS = { S3RVER: 'S3RVER' };

function args(argv) {
  const o = { buckets: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) o[a.slice(2)] = argv[++i];
    else o.buckets.push(a);
  }
  return o;
}

const hmac = (key, s) => crypto.createHmac('sha256', key).update(s, 'utf8').digest();
const sha256 = (s) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');
const enc = (s) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

function canonicalQuery(raw) {
  if (!raw) return '';
  return raw
    .split('&')
    .map((p) => {
      const i = p.indexOf('=');
      const k = i < 0 ? p : p.slice(0, i);
      const v = i < 0 ? '' : p.slice(i + 1);
      return [enc(decodeURIComponent(k)), enc(decodeURIComponent(v))];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => k + '=' + v)
    .join('&');
}

// null when the request is correctly signed, else [status, code]
function check(req, region) {
  const auth = req.headers.authorization;
  if (!auth) return [403, 'AccessDenied'];
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return [400, 'AuthorizationHeaderMalformed'];
  const [, keyId, date, reqRegion, signedHeaders, sig] = m;
  const secret = SECRETS[keyId];
  if (!secret) return [403, 'InvalidAccessKeyId'];
  if (reqRegion !== region) return [400, 'AuthorizationHeaderMalformed'];
  const amzDate = req.headers['x-amz-date'] || '';
  const t = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (!amzDate.startsWith(date) || isNaN(t)) return [403, 'SignatureDoesNotMatch'];
  if (Math.abs(Date.now() - t) > 15 * 60 * 1000) return [403, 'RequestTimeTooSkewed'];
  const names = signedHeaders.split(';');
  for (const h of ['host', 'x-amz-date', 'x-amz-content-sha256'])
    if (!names.includes(h)) return [403, 'SignatureDoesNotMatch'];
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const uri = rawPath.split('/').map((s) => enc(decodeURIComponent(s))).join('/');
  const headers = names
    .map((h) => h + ':' + String(req.headers[h] || '').trim().replace(/\s+/g, ' ') + '\n')
    .join('');
  const creq = [req.method, uri, canonicalQuery(q < 0 ? '' : req.url.slice(q + 1)), headers,
    signedHeaders, req.headers['x-amz-content-sha256']].join('\n');
  const sts = ['AWS4-HMAC-SHA256', amzDate, `${date}/${region}/s3/aws4_request`, sha256(creq)].join('\n');
  const key = hmac(hmac(hmac(hmac('AWS4' + secret, date), region), 's3'), 'aws4_request');
  const want = hmac(key, sts);
  const got = Buffer.from(sig, 'hex');
  return crypto.timingSafeEqual(want, got) ? null : [403, 'SignatureDoesNotMatch'];
}

const o = args(process.argv.slice(2));
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(o.port),
  directory: o.dir,
  silent: false,
  vhostBuckets: false,
  key: o.key ? fs.readFileSync(o.key) : undefined,
  cert: o.cert ? fs.readFileSync(o.cert) : undefined,
  configureBuckets: o.buckets.map((name) => ({ name, configs: [] })),
});
// first in the chain: nothing reaches s3rver unsigned or wrongly signed
server.middleware.unshift(async (ctx, next) => {
  let bad = check(ctx.req, o.region || 'us-east-1');
  if (!bad && o['object-lock'] === 'on') {
    if (ctx.method === 'GET' && /^object-lock=?$/.test(ctx.querystring)) {
      ctx.type = 'application/xml';
      ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<ObjectLockConfiguration>' +
        '<ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>';
      return;
    }
    if (ctx.method === 'PUT') {
      const signed = /SignedHeaders=([^,]+)/.exec(ctx.get('authorization'))[1].split(';');
      const mode = ctx.get('x-amz-object-lock-mode') || '-';
      const until = ctx.get('x-amz-object-lock-retain-until-date') || '-';
      console.log(`s3-peer: PUT ${ctx.path} lock ${mode} ${until}`);
      if (!ctx.path.includes('/locks/') && !signed.includes('x-amz-checksum-sha256'))
        bad = [400, 'InvalidRequest'];
    }
  }
  if (!bad) {
    if (/(^|&)continuation-token=/.test(ctx.querystring)) console.log('s3-peer: listing page 2+');
    return next();
  }
  ctx.status = bad[0];
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${bad[1]}</Code>` +
    '<Message>rejected by the s3-peer SigV4 check</Message></Error>';
  console.log(`s3-peer: ${ctx.method} ${ctx.url} -> ${bad[0]} ${bad[1]}`);
});
server.run().catch((e) => {
  console.error(e);
  process.exit(1);
});
