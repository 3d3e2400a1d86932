# Snakemake's scheduling loop. Since 8.17 Snakemake paces job starts (--max-jobs-per-timespan,
# default 100/1s), and every scheduling round that leaves jobs waiting starts a timer for another
# round one timespan later. A finished job starts a round too, so each one adds a chain of rounds
# that goes on for as long as jobs wait (snakemake/snakemake#3744, open in 9.27.1). On the default
# profile, whose training jobs wait for two cores, that grows to hundreds of rounds a second by the
# end, each re-evaluating every waiting job's params and input sizes: Snakemake's own process was a
# fifth of the pipeline's CPU-seconds (docs/benchmarks.md, "Scheduling"), and on a cluster every
# round stats each waiting job's inputs on the shared file system. The default pace never binds
# here: a local run's jobs are bounded by --cores, a cluster's by the profile's `jobs`, both below
# 100 a second. So the default limiter is turned off and a round runs when a job ends, as before
# 8.17. A pace that a profile or the command line asks for is kept.
SNAKEMAKES_DEFAULT_PACE = (100, 1.0)  # jobs per seconds: --max-jobs-per-timespan 100/1s


def schedule_when_jobs_end():
    """No default rate limiter, so no timer rounds: only the rounds a job's end starts."""
    scheduler = workflow.scheduler
    limiter = getattr(scheduler, "job_rate_limiter", None)
    if limiter is not None and (limiter.max_jobs, limiter.timespan) == SNAKEMAKES_DEFAULT_PACE:
        scheduler.job_rate_limiter = None
