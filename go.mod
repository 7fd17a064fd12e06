module github.com/qipc-go/qipc

go 1.24.0

require github.com/google/go-cmp v0.7.0

require golang.org/x/sys v0.38.0
