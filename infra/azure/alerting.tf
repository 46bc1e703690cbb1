# Alerts: the functions post to the config's webhooks themselves (their URLs are secrets, read at
# run time); Azure Monitor mails notifications.email through an Action Group when a function
# invocation fails.
resource "azurerm_monitor_action_group" "alerts" {
  name                = "${local.name}-alerts"
  resource_group_name = local.resource_group.name
  short_name          = "vaultra"
  tags                = local.tags

  dynamic "email_receiver" {
    for_each = { for index, email in local.emails : tostring(index) => email }
    content {
      name                    = "email-${email_receiver.key}"
      email_address           = email_receiver.value
      use_common_alert_schema = true
    }
  }
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "function_failures" {
  name                 = "${local.name}-function-failures"
  resource_group_name  = local.resource_group.name
  location             = local.location
  description          = "A Vaultra function invocation of environment ${var.environment} failed: see Application Insights."
  scopes               = [azurerm_application_insights.functions.id]
  severity             = 1
  evaluation_frequency = "PT5M"
  window_duration      = "PT5M"
  tags                 = local.tags

  criteria {
    query                   = "requests | where success == false"
    time_aggregation_method = "Count"
    operator                = "GreaterThan"
    threshold               = 0

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.alerts.id]
  }
}
