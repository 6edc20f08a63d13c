module aurora.test/kaniko-executor

go 1.24.0

require github.com/chainguard-dev/kaniko v1.25.2
