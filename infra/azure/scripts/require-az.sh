# Sourced by the module's scripts: fails at once, with the reason, when the Azure CLI is missing or
# not signed in — neither is a propagation delay worth retrying for minutes.
# Usage: require_az <script name> <what the CLI is needed for>
require_az() {
  command -v az >/dev/null 2>&1 || {
    echo "$1: the Azure CLI (az) is needed $2: https://learn.microsoft.com/cli/azure/install-azure-cli" >&2
    exit 1
  }
  az account show --output none || {
    echo "$1: the Azure CLI is not signed in: run az login as the identity that runs Terraform" >&2
    exit 1
  }
}
