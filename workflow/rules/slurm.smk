# Before SLURM gets any job: a job that no node of its partition could ever run would pend for
# ever in silence (snakemake-executor-plugin-slurm 2.8.0 does not notice), so stop with one line.
# And a job cancelled under the pipeline (scancel, preemption) must count as failed, so the
# profile's retries resubmit it; the plugin would otherwise wait for it for ever. And Ctrl-C must
# cancel every job of the run, also those whose submission was in flight (the plugin forgets them).


def check_slurm_jobs():
    """On a SLURM executor: refuse jobs no node can run, let cancelled jobs count as failed, and
    let Ctrl-C cancel the whole run."""
    if workflow.executor_plugin is None or workflow.executor_plugin.name != "slurm":
        return
    from distancing.slurm import SlurmLimitError, cancel_whole_run, check_jobs, read_cancelled_as_cancelled

    read_cancelled_as_cancelled()
    cancel_whole_run()
    try:
        check_jobs(workflow.dag.needrun_jobs())
    except SlurmLimitError as error:
        raise WorkflowError(str(error)) from None
