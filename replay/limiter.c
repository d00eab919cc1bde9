/*
 * limiter.c: the rate limiter's arithmetic, Reverb's (rate_limiter.cc and
 * rate_limiters.py), so that a program tuned against Reverb behaves the
 * same here. The counts live in the table and change under its lock.
 */
#include <float.h>
#include <math.h>

#include "replay-int.h"

/* Whether n more draws may be made now. */
bool
replay_limiter_can_sample(const struct replay_limiter *l, int64_t n)
{
	double	diff;

	if (l->inserts - l->deletes < l->cfg.min_size_to_sample)
		return (false);
	diff = (double)l->inserts * l->cfg.samples_per_insert -
	    (double)l->samples - (double)n;
	return (diff >= l->cfg.min_diff);
}

/* Whether n more items may be inserted now. */
bool
replay_limiter_can_insert(const struct replay_limiter *l, int64_t n)
{
	double	diff;

	/* Until the table reaches the minimum size, inserts go ahead. */
	if (l->inserts + n - l->deletes <= l->cfg.min_size_to_sample)
		return (true);
	diff = (double)(l->inserts + n) * l->cfg.samples_per_insert -
	    (double)l->samples;
	return (diff <= l->cfg.max_diff);
}

/*
 * Refuse what cannot work: a minimum size under 1, a ratio that is not a
 * positive number, an empty range, or a range that no sequence of calls
 * reaches. Inserts go ahead at least until min_size items are in, and
 * then while the diff stays under max_diff; with no sample yet the diff
 * is then at most max(min_size * spi, max_diff), and a sample needs it
 * to be at least min_diff + 1.
 */
int
replay_limiter_check(const struct replay_limiter_config *c, char **cause)
{
	double	reach;

	if (c->min_size_to_sample < 1) {
		set_cause(cause, "min_size_to_sample %lld is under 1",
		    (long long)c->min_size_to_sample);
		return (-1);
	}
	if (!(c->samples_per_insert > 0) || !isfinite(c->samples_per_insert)) {
		set_cause(cause, "samples_per_insert %g is not a positive "
		    "number", c->samples_per_insert);
		return (-1);
	}
	if (isnan(c->min_diff) || isnan(c->max_diff) ||
	    c->min_diff > c->max_diff) {
		set_cause(cause, "the limiter's range [%g, %g] is empty",
		    c->min_diff, c->max_diff);
		return (-1);
	}
	reach = fmax((double)c->min_size_to_sample * c->samples_per_insert,
	    c->max_diff);
	if (reach - 1 < c->min_diff) {
		set_cause(cause, "the limiter could never sample: min_diff %g "
		    "is above what inserts reach (%g)", c->min_diff, reach - 1);
		return (-1);
	}
	return (0);
}

/* MinSize(n). */
int
replay_limiter_min_size(struct replay_limiter_config *c, int64_t n,
    char **cause)
{
	c->samples_per_insert = 1;
	c->min_size_to_sample = n;
	c->min_diff = -DBL_MAX;
	c->max_diff = DBL_MAX;
	return (replay_limiter_check(c, cause));
}

/*
 * SampleToInsertRatio with a range. As Reverb, the range must be at
 * least 2 * max(1, spi) wide, or calls would block each other, and its
 * low end may not be above spi * min_size, or the first sample would
 * never come.
 */
int
replay_limiter_ratio_range(struct replay_limiter_config *c, double spi,
    int64_t min_size, double min_diff, double max_diff, char **cause)
{
	c->samples_per_insert = spi;
	c->min_size_to_sample = min_size;
	c->min_diff = min_diff;
	c->max_diff = max_diff;
	if (replay_limiter_check(c, cause) != 0)
		return (-1);
	if (max_diff - min_diff < 2 * fmax(1, spi)) {
		set_cause(cause, "error_buffer is narrower than 2 * max(1, "
		    "samples_per_insert) = %g: calls would block each other",
		    2 * fmax(1, spi));
		return (-1);
	}
	if (min_diff > spi * (double)min_size) {
		set_cause(cause, "error_buffer starts above samples_per_insert "
		    "* min_size_to_sample = %g: sampling would never start",
		    spi * (double)min_size);
		return (-1);
	}
	return (0);
}

/* SampleToInsertRatio with one error_buffer, centred on spi * min_size. */
int
replay_limiter_ratio(struct replay_limiter_config *c, double spi,
    int64_t min_size, double error_buffer, char **cause)
{
	double	offset = spi * (double)min_size;

	if (!(error_buffer >= 0)) {
		set_cause(cause, "error_buffer %g is negative", error_buffer);
		return (-1);
	}
	return (replay_limiter_ratio_range(c, spi, min_size,
	    offset - error_buffer, offset + error_buffer, cause));
}

/* Queue(size): at most size items wait, and samples wait for one. */
int
replay_limiter_queue(struct replay_limiter_config *c, int64_t size,
    char **cause)
{
	if (size < 1) {
		set_cause(cause, "queue size %lld is under 1", (long long)size);
		return (-1);
	}
	c->samples_per_insert = 1;
	c->min_size_to_sample = 1;
	c->min_diff = 0;
	c->max_diff = (double)size;
	return (replay_limiter_check(c, cause));
}
