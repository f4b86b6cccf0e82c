package watch

// RemediationConfig serves the external tests too.
var RemediationConfig = remediationConfig
