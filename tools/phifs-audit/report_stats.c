/*
 * report_stats.c: median/MAD arithmetic for the spike and peer-outlier
 * detectors (report_rules.c). Plain doubles: counts of files per user and day.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "report_stats.h"

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double stats_median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), dbl_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double stats_mad(double *v, size_t n, double m)
{
	for (size_t i = 0; i < n; i++)
		v[i] = fabs(v[i] - m);
	return stats_median(v, n);
}

double stats_meanad(const double *v, size_t n, double m)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += fabs(v[i] - m);
	return n ? s / (double)n : 0;
}

double stats_robust_z(double x, double m, double mad, double meanad)
{
	if (mad > 0)
		return 0.6745 * (x - m) / mad;
	if (meanad > 0)
		return (x - m) / (1.253314 * meanad);
	return 0;
}
