#!/usr/bin/env bash
# Submit a Snakemake jobscript as a detached background process and print its pid (the job id).
# Snakemake learns the end of the job from the marker files the jobscript touches.
set -euo pipefail
jobscript="$1"
setsid nohup bash "$jobscript" > "$jobscript.log" 2>&1 < /dev/null &
echo $!
