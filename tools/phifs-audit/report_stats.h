/*
 * report_stats.h: the robust statistics of `phifs-audit report`
 * (docs/OPERATIONS.md "Reviewing the audit log"): median, MAD, and the
 * modified z-score of Iglewicz and Hoaglin, which one extreme user cannot
 * drag the way a mean and standard deviation would.
 */
#ifndef PHIFS_REPORT_STATS_H
#define PHIFS_REPORT_STATS_H

#include <stddef.h>

/* Median of v[0..n) (v is reordered); 0 for n == 0. */
double stats_median(double *v, size_t n);
/* Median absolute deviation around the median m (v is reordered). */
double stats_mad(double *v, size_t n, double m);
/* 0.6745 (x - m) / mad; when mad is 0 (more than half the users alike), the
 * mean absolute deviation scaled by 1.253314 stands in; 0 when both are 0. */
double stats_robust_z(double x, double m, double mad, double meanad);
/* Mean absolute deviation around m. */
double stats_meanad(const double *v, size_t n, double m);

#endif
