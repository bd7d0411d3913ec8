/*
 * chglog_tick.h: the periodic store of open files' change records
 * (docs/FORMAT.md §7.1 rule 3; chglog_tick.c). A file held open for days (a
 * database) would otherwise keep its generation open, and every backup would
 * read it whole. One thread for the whole daemon, no lock of a file held
 * while it walks the list.
 */
#ifndef PHIFS_CHGLOG_TICK_H
#define PHIFS_CHGLOG_TICK_H

#define CHGLOG_TICK_DEFAULT_S 60
/* Retry delay after a store that could not run (the file's lock was busy,
 * or the coarse clock had not yet passed its mtime). */
#define CHGLOG_TICK_RETRY_S 1

struct chglog_tick;

/* Stores one file's record if a generation is open: 0, or -EAGAIN to be
 * asked again CHGLOG_TICK_RETRY_S later. Runs on the tick thread. */
typedef int (*chglog_tick_fn)(void *arg);

/* Registers an open file; NULL without memory (its record is then stored only
 * at fsync and close, as before). */
struct chglog_tick *chglog_tick_add(chglog_tick_fn fn, void *arg);
/* Unregisters; returns only once no call of fn for it runs. Takes NULL. */
void chglog_tick_del(struct chglog_tick *t);
/* The thread that calls each registered file's fn every interval_s seconds
 * (> 0). Stop it before the files it may call are freed. */
int chglog_tick_start(unsigned interval_s);
void chglog_tick_stop(void);

#endif
