module github.com/argocd-monitor/argocd-monitor/bridge

go 1.26.0

require (
	github.com/alecthomas/kong v1.17.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/prometheus/alertmanager v0.35.0 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	github.com/prometheus/exporter-toolkit v0.20.0 // indirect
	github.com/slack-go/slack v0.35.0 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
)
