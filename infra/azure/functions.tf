# The function app (Azure Functions v4, Node): a dispatcher timer that evaluates every enabled
# job's cron in its time zone from VAULTRA_CONFIG_JSON (the schedules live in the function code,
# not in Terraform), a timer that finalizes finished runner executions, the watchdog timer (RPO,
# stuck runs) and the api.
#
# Flex Consumption, not the older Linux Consumption plan: it reaches its own storage with the
# managed identity (no shared key anywhere), runs current Node versions, scales to zero, and
# Linux Consumption takes no new features.
locals {
  functions_source_dir = coalesce(var.functions_source_dir, "${path.module}/../../dist/functions-azure")

  storage_url = "azblob://${azurerm_storage_account.backups.name}/${azurerm_storage_container.backups.name}/${local.prefix}"
  catalog_url = "aztable://${azurerm_storage_account.backups.name}/${terraform_data.catalog_table.input.name}"

  # The names in core/platform/function-deployment.ts (FUNCTION_ENV, AZURE_FUNCTION_ENV), then the
  # host's own storage through the identity. No storage key: the account refuses them.
  function_app_settings = {
    VAULTRA_ENVIRONMENT           = var.environment
    VAULTRA_CONFIG_JSON           = local.config_json
    VAULTRA_STORAGE_URL           = local.storage_url
    VAULTRA_CATALOG_URL           = local.catalog_url
    VAULTRA_KMS_KEY               = "azure-keyvault:${azurerm_key_vault_key.vaultra.id}"
    VAULTRA_SIGNING_KEY           = "azure-keyvault:${azurerm_key_vault_key.signing.id}"
    VAULTRA_AZURE_SUBSCRIPTION_ID = data.azurerm_client_config.current.subscription_id
    VAULTRA_AZURE_RESOURCE_GROUP  = local.resource_group.name
    VAULTRA_CONTAINER_APPS_JOB    = azurerm_container_app_job.runner_jobs["runner"].name
    # Restores and verifies run here, as the restore identity (restore-job.tf).
    VAULTRA_CONTAINER_APPS_RESTORE_JOB = azurerm_container_app_job.runner_jobs["restore"].name
    AZURE_CLIENT_ID                    = azurerm_user_assigned_identity.functions.client_id

    # Only the identity-based connection: no AzureWebJobsStorage, not even empty (the host reads
    # any value there as a connection string, Azure/azure-functions-host#11796). The provider adds
    # one with an empty key anyway (hashicorp/terraform-provider-azurerm#29693):
    # scripts/publish-functions.sh deletes it after every create and update of the app.
    AzureWebJobsStorage__accountName          = azurerm_storage_account.functions.name
    AzureWebJobsStorage__credential           = "managedidentity"
    AzureWebJobsStorage__clientId             = azurerm_user_assigned_identity.functions.client_id
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING = "ClientId=${azurerm_user_assigned_identity.functions.client_id};Authorization=AAD"
  }
}

data "archive_file" "functions" {
  type        = "zip"
  source_dir  = local.functions_source_dir
  output_path = "${path.root}/.terraform/vaultra-functions-azure.zip"
}

resource "azurerm_user_assigned_identity" "functions" {
  name                = "${local.name}-functions"
  location            = local.location
  resource_group_name = local.resource_group.name
  tags                = local.tags
}

# The function app's own account: host state (timer leases) and deployment packages, apart from
# the backups, so neither identity's grants on one reach the other.
resource "azurerm_storage_account" "functions" {
  name                              = local.functions_storage_account_name
  resource_group_name               = local.resource_group.name
  location                          = local.location
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = "LRS"
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  default_to_oauth_authentication   = true
  infrastructure_encryption_enabled = true
  tags                              = local.tags
}

resource "azurerm_storage_container" "deployments" {
  name                  = "deployments"
  storage_account_id    = azurerm_storage_account.functions.id
  container_access_type = "private"
}

resource "azurerm_application_insights" "functions" {
  name                         = "${local.name}-functions"
  location                     = local.location
  resource_group_name          = local.resource_group.name
  workspace_id                 = azurerm_log_analytics_workspace.vaultra.id
  application_type             = "Node.JS"
  local_authentication_enabled = false
  tags                         = local.tags
}

resource "azurerm_service_plan" "functions" {
  name                = "${local.name}-functions"
  location            = local.location
  resource_group_name = local.resource_group.name
  os_type             = "Linux"
  sku_name            = "FC1"
  tags                = local.tags
}

resource "azurerm_function_app_flex_consumption" "vaultra" {
  name                = "${local.name}-functions"
  location            = local.location
  resource_group_name = local.resource_group.name
  service_plan_id     = azurerm_service_plan.functions.id
  https_only          = true
  tags                = local.tags

  storage_container_type            = "blobContainer"
  storage_container_endpoint        = "${azurerm_storage_account.functions.primary_blob_endpoint}${azurerm_storage_container.deployments.name}"
  storage_authentication_type       = "UserAssignedIdentity"
  storage_user_assigned_identity_id = azurerm_user_assigned_identity.functions.id

  runtime_name           = "node"
  runtime_version        = var.functions_runtime_version
  instance_memory_in_mb  = 2048
  maximum_instance_count = 40

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.functions.id]
  }

  site_config {
    application_insights_connection_string = azurerm_application_insights.functions.connection_string
  }

  # No zip_deploy_file: the provider publishes it to /api/zipdeploy, which Flex Consumption does
  # not have (hashicorp/terraform-provider-azurerm#29630). terraform_data.publish_functions does.
  app_settings = local.function_app_settings

  # The host must reach its storage before it starts.
  depends_on = [azurerm_role_assignment.functions_host_storage]
}

# Publishes the package with OneDeploy (scripts/publish-functions.sh, through the Azure CLI): on
# the first apply, when the package changes, and whenever the provider replaces or updates the app
# (a new app starts without code, and every update writes AzureWebJobsStorage back).
resource "terraform_data" "publish_functions" {
  triggers_replace = {
    package = data.archive_file.functions.output_base64sha256
  }

  provisioner "local-exec" {
    command = "${path.module}/scripts/publish-functions.sh"
    environment = {
      SUBSCRIPTION   = data.azurerm_client_config.current.subscription_id
      RESOURCE_GROUP = local.resource_group.name
      FUNCTION_APP   = azurerm_function_app_flex_consumption.vaultra.name
      PACKAGE        = data.archive_file.functions.output_path
    }
  }

  lifecycle {
    replace_triggered_by = [azurerm_function_app_flex_consumption.vaultra]
  }

  depends_on = [azurerm_role_assignment.functions_host_storage]
}
