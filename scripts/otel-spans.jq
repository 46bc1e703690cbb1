# Prints the spans of an OpenTelemetry Collector file exporter's output (OTLP JSON lines), one line
# each in start order: name, parent (by name), duration, attributes, events, an error status.
# jq -r -f scripts/otel-spans.jq traces.jsonl
[.resourceSpans[].scopeSpans[].spans[]] as $spans
| ($spans | map({key: .spanId, value: .name}) | from_entries) as $names
| $spans | sort_by(.startTimeUnixNano) | .[]
| "\(.name)  parent=\($names[.parentSpanId] // .parentSpanId)  \(((.endTimeUnixNano|tonumber) - (.startTimeUnixNano|tonumber)) / 1e6 | floor) ms"
  + ([.attributes[]? | " \(.key)=\(.value | .stringValue // .intValue // .doubleValue // .boolValue)"] | join(""))
  + ([.events[]? | " [event \(.name)]"] | join(""))
  + (if .status.code == 2 then " ERROR: \(.status.message)" else "" end)
