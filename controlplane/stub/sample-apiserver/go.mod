// An empty stand-in: k8s.io/kubernetes requires k8s.io/sample-apiserver, which the module proxy here does
// not serve at v0.32.13, and nothing built by this program imports it.
module k8s.io/sample-apiserver

go 1.23
