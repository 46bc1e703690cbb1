#!/bin/sh
# Waits until the identity running Terraform can use the environment's Key Vault, run by
# terraform_data.deployer_vault_access (keyvault.tf) once its role assignments exist.
#
# Why: Azure RBAC takes minutes, sometimes far longer (its troubleshooting guide), to apply a new
# role assignment, and on a first apply Terraform creates the vault, grants itself Key Vault Crypto
# Officer and Secrets Officer, and then at once creates the key and the placeholder secrets: without
# this wait those fail with 403 and the apply has to be run again. Polling the vault ends the wait
# as soon as the grants work, where a fixed sleep (the time provider's time_sleep, which the project
# does not build) would guess.
#
# Environment: VAULT (the vault's name), and optionally VAULTRA_WAIT_SECONDS (900),
# VAULTRA_POLL_SECONDS (15). Needs the Azure CLI, signed in as the identity that runs Terraform.
set -eu

: "${VAULT:?}"
limit=${VAULTRA_WAIT_SECONDS:-900}
poll=${VAULTRA_POLL_SECONDS:-15}

. "$(dirname "$0")/require-az.sh"
require_az wait-for-vault-access "to wait for the new Key Vault role assignments"

started=$(date +%s)
while :; do
  # Listing needs the same grants as writing does here: keys (Crypto Officer), secrets (Secrets Officer).
  if az keyvault key list --vault-name "$VAULT" --maxresults 1 --output none &&
    az keyvault secret list --vault-name "$VAULT" --maxresults 1 --output none; then
    echo "wait-for-vault-access: $VAULT answers after $(($(date +%s) - started))s"
    exit 0
  fi
  if [ $(($(date +%s) - started)) -ge "$limit" ]; then
    echo "wait-for-vault-access: after ${limit}s this identity still cannot list the keys and secrets of $VAULT: check that az is signed in as the identity running Terraform and that it holds Key Vault Crypto Officer and Key Vault Secrets Officer there" >&2
    exit 1
  fi
  echo "wait-for-vault-access: $VAULT refuses this identity for now (new role assignments take minutes); asking again in ${poll}s" >&2
  sleep "$poll"
done
