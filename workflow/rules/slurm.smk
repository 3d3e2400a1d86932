# Before SLURM gets any job: a job that no node of its partition could ever run would pend for
# ever in silence (snakemake-executor-plugin-slurm 2.8.0 does not notice), so stop with one line.
# And a job cancelled under the pipeline (scancel, preemption) must count as failed, so the
# profile's retries resubmit it; the plugin would otherwise wait for it for ever.
# Snakemake keeps one onstart handler: this one runs the check, then the one registered before.
ONSTART_BEFORE_SLURM_CHECK = workflow._onstart


onstart:
    if workflow.executor_plugin is not None and workflow.executor_plugin.name == "slurm":
        from distancing.slurm import SlurmLimitError, check_jobs, read_cancelled_as_cancelled

        read_cancelled_as_cancelled()
        try:
            check_jobs(workflow.dag.needrun_jobs())
        except SlurmLimitError as error:
            raise WorkflowError(str(error)) from None
    ONSTART_BEFORE_SLURM_CHECK(log)
