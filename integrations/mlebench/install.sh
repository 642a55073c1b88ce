#!/usr/bin/env bash
# Adds aide to an mle-bench checkout as the agent aide-swift (agents/aide-swift/: config.yaml,
# Dockerfile, start.sh and aide's committed source as aide-src.tar.gz, which the Dockerfile builds).
#   integrations/mlebench/install.sh ~/mle-bench
# then, in the mle-bench checkout, build the image as agents/README.md says and run:
#   python run_agent.py --agent-id aide-swift --competition-set experiments/splits/spaceship-titanic.txt
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repository=$(cd "$here/../.." && pwd)
if [ $# -ne 1 ]; then echo "usage: $0 MLEBENCH_CHECKOUT" >&2; exit 2; fi
if [ ! -d "$1/agents" ]; then echo "install.sh: $1 has no agents/ folder: not an mle-bench checkout" >&2; exit 1; fi
destination="$1/agents/aide-swift"
mkdir -p "$destination"
cp "$here/config.yaml" "$here/Dockerfile" "$here/start.sh" "$destination/"
# The committed source (HEAD): what the image builds is what the repository holds.
git -C "$repository" archive --format=tar.gz -o "$destination/aide-src.tar.gz" HEAD
echo "installed aide ($(git -C "$repository" rev-parse --short HEAD)) as agent aide-swift in $destination"
