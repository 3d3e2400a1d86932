# Snakemake's scheduling loop, for local runs. Since 8.17 Snakemake rate-limits job starts
# (--max-jobs-per-timespan, default 100/1s), and every scheduling round that leaves jobs waiting
# starts a timer for another round one timespan later. A finished job starts a round too, so each
# one adds a chain of rounds that goes on for as long as jobs wait (snakemake/snakemake#3744, open
# in 9.27.1). On the default profile, whose training jobs wait for two cores, that grows to hundreds
# of rounds a second by the end, each re-evaluating every waiting job's params and input sizes:
# Snakemake's own process was the pipeline's largest overhead (docs/benchmarks.md, "Snakemake's
# own process"). A local run's jobs are bounded by --cores, so there is nothing to limit: the
# limiter is turned off and a round runs when a job ends, as before 8.17. Cluster executors keep
# it: there it paces submissions.


def runs_locally():
    """Whether Snakemake runs the jobs itself (its local executor), not a cluster's scheduler."""
    return workflow.executor_plugin is None or workflow.executor_plugin.name == "local"


def schedule_when_jobs_end():
    """On the local executor: no rate limiter, so no timer rounds (only rounds a job's end starts)."""
    scheduler = workflow.scheduler
    if runs_locally() and getattr(scheduler, "job_rate_limiter", None) is not None:
        scheduler.job_rate_limiter = None
