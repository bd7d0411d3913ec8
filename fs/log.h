/* log.h: operator log lines (never names, paths inside the volume, or content). */
#ifndef PHIFS_LOG_H
#define PHIFS_LOG_H

#include <syslog.h>

/* to_syslog: 0 = stderr (foreground), 1 = syslog (daemon). */
void log_init(const char *ident, int to_syslog);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
