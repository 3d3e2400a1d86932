# A warm start for the training jobs of this Snakemake process: `distancing serve` imports
# torch once and forks a child per run (src/distancing/server.py), about a CPU-second less per
# run; results are byte-identical. The jobs find it through DISTANCING_SERVER in their
# environment. Started only for Snakemake's local executor (the Snakefile's onstart), and it
# serves only descendants of this process, so jobs that a cluster scheduler starts run cold,
# inside the scheduler's accounting.
import shutil
import subprocess
import tempfile
import time

from distancing.server import ENVIRONMENT, available

TRAINING_SERVER = []  # (process, socket folder) while one runs


def start_training_server(log_path):
    """Start `distancing serve` and put its socket into the environment that jobs inherit."""
    local = workflow.executor_plugin is None or workflow.executor_plugin.name == "local"
    if not local or not available():
        return
    folder = tempfile.mkdtemp(prefix="distancing-")
    path = os.path.join(folder, "train.sock")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "w") as log:
        numerics = PLAN.builder.resolve_base()["numerics"]  # the children's kernels (src/distancing/numerics.py)
        command = ["distancing", "serve", "--socket", path, "--numerics", numerics]
        process = subprocess.Popen(command, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while not os.path.exists(path) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    TRAINING_SERVER.append((process, folder))
    if os.path.exists(path):
        os.environ[ENVIRONMENT] = path
    else:
        logger.warning(f"the training server did not start (see {log_path}); every run starts cold")


def stop_training_server():
    """End the server (it terminates runs still in flight) and wait for it."""
    os.environ.pop(ENVIRONMENT, None)
    while TRAINING_SERVER:
        process, folder = TRAINING_SERVER.pop()
        process.terminate()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)
