// Kubelet endpoints for emulated nodes: per node, an HTTPS server on the node's own loopback address that
// answers the API server's kubelet calls (exec, containerLogs, healthz) and hands each command or log
// request to the emulator's shell over plain HTTP on loopback (the contract: /work/briefs/s17-interface.md,
// summarised in README.md). Exec streams are served by the kubelet's own streaming code
// (k8s.io/kubelet/pkg/cri/streaming/remotecommand.ServeExec): SPDY, and WebSocket v1-v4 (WebSocket v5
// clients are translated to SPDY by the API server, TranslateStreamCloseWebsocketRequests).
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/tools/remotecommand"
	streaming "k8s.io/kubelet/pkg/cri/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// kubeletFlag is one `--kubelet NAME=IP`.
type kubeletFlag struct {
	name string
	ip   net.IP
}

// kubeletFlags collects the repeatable --kubelet flag.
type kubeletFlags []kubeletFlag

func (k *kubeletFlags) String() string {
	parts := make([]string, len(*k))
	for i, f := range *k {
		parts[i] = f.name + "=" + f.ip.String()
	}
	return strings.Join(parts, ",")
}

// A node name is a DNS subdomain (k8s.io/apimachinery/pkg/util/validation.IsDNS1123Subdomain).
var nodeName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

func (k *kubeletFlags) Set(value string) error {
	name, ip, ok := strings.Cut(value, "=")
	parsed := net.ParseIP(ip)
	switch {
	case !ok || !nodeName.MatchString(name) || len(name) > 253:
		return fmt.Errorf("want NAME=IP with NAME a node name (lower-case DNS subdomain), got %q", value)
	case parsed == nil || parsed.To4() == nil || !parsed.IsLoopback():
		return fmt.Errorf("want an IPv4 address in 127.0.0.0/8 after %q=, got %q", name, ip)
	}
	for _, f := range *k {
		if f.name == name {
			return fmt.Errorf("node %q given twice", name)
		}
		if f.ip.Equal(parsed) {
			return fmt.Errorf("address %s given twice (nodes %q and %q): give each node its own", ip, f.name, name)
		}
	}
	*k = append(*k, kubeletFlag{name, parsed.To4()})
	return nil
}

// parseShellURL checks --kubelet-shell: an http URL on a loopback address.
func parseShellURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("--kubelet-shell wants http://127.0.0.1:PORT, got %q", raw)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--kubelet-shell must be on loopback, got %q", raw)
	}
	u.Path = ""
	return u, nil
}

// kubelet is one node's endpoint.
type kubelet struct {
	node     string
	ip       net.IP
	port     int
	listener net.Listener
	server   *http.Server
	shell    *shellClient
	clients  *x509.CertPool
}

// Kubelet defaults (k8s.io/kubelet/pkg/cri/streaming.DefaultConfig).
const (
	streamIdleTimeout     = 4 * time.Hour
	streamCreationTimeout = remotecommandconsts.DefaultStreamCreationTimeout
)

// listenKubelets opens every node's listener (a free port on its address) and its server; serve starts them.
func listenKubelets(flags kubeletFlags, shell *url.URL, f credentialFiles) ([]*kubelet, error) {
	ca, caKey, err := loadCA(f)
	if err != nil {
		return nil, err
	}
	clients := x509.NewCertPool()
	clients.AddCert(ca)
	sc := &shellClient{base: shell, http: &http.Client{Timeout: 5 * time.Minute}}
	var kubelets []*kubelet
	for _, flag := range flags {
		// the kubelet's serving certificate names its node and address (kubelet --tls-cert-file, or the
		// self-signed one it makes with the hostname and node IPs)
		cert, key, err := newCertificate(pkix.Name{CommonName: flag.name + "@kubelet"}, ca, caKey, []string{flag.name}, []net.IP{flag.ip})
		if err != nil {
			closeKubelets(kubelets)
			return nil, err
		}
		l, err := net.Listen("tcp", net.JoinHostPort(flag.ip.String(), "0"))
		if err != nil {
			closeKubelets(kubelets)
			return nil, fmt.Errorf("kubelet %s: %w", flag.name, err)
		}
		k := &kubelet{node: flag.name, ip: flag.ip, port: l.Addr().(*net.TCPAddr).Port, shell: sc, clients: clients}
		k.listener = tls.NewListener(l, &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw, ca.Raw}, PrivateKey: key, Leaf: cert}},
			// the API server authenticates with its kubelet client certificate; /healthz is open (checked per path)
			ClientAuth: tls.VerifyClientCertIfGiven,
			ClientCAs:  clients,
			// SPDY upgrades need HTTP/1.1
			NextProtos: []string{"http/1.1"},
			MinVersion: tls.VersionTLS12,
		})
		k.server = &http.Server{Handler: k.routes(), ReadHeaderTimeout: time.Minute}
		kubelets = append(kubelets, k)
	}
	return kubelets, nil
}

func (k *kubelet) serve() error {
	if err := k.server.Serve(k.listener); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("kubelet %s: %w", k.node, err)
	}
	return nil
}

func closeKubelets(kubelets []*kubelet) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, k := range kubelets {
		_ = k.server.Shutdown(ctx) // closes the listener, served or not
		_ = k.listener.Close()
	}
}

// routes are the kubelet API paths the API server calls (pkg/kubelet/server/server.go of the release:
// InstallDebuggingHandlers' /exec and /containerLogs, and /healthz).
func (k *kubelet) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok")
	})
	mux.Handle("/exec/{namespace}/{pod}/{container}", k.authenticated(k.exec))
	mux.Handle("/containerLogs/{namespace}/{pod}/{container}", k.authenticated(k.containerLogs))
	return mux
}

// authenticated lets through requests with a client certificate from the CA (the API server's); the real
// kubelet then authorizes nodes/proxy by SubjectAccessReview, which here only the API server could ask for.
func (k *kubelet) authenticated(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		next(w, r)
	})
}

func (k *kubelet) exec(w http.ResponseWriter, r *http.Request) {
	opts, err := streaming.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	target := shellTarget{Node: k.node, Namespace: r.PathValue("namespace"), Pod: r.PathValue("pod"), Container: r.PathValue("container")}
	// the kubelet refuses before upgrading (pkg/kubelet/server/server.go getExec, v1.32.13): 404 `pod does
	// not exist` for a pod it does not run; then Kubelet.GetExec (kubelet_pods.go) finds only running
	// containers (findContainer, GetPods(ctx, false)) and answers `container not found ("NAME")`, which
	// streaming.WriteError (k8s.io/kubelet/pkg/cri/streaming) sends as a 500 with that text
	running, err := k.shell.running(r.Context(), target)
	switch {
	case errors.Is(err, errUnknownPod):
		kubeletError(w, "pod does not exist", http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	case !running:
		kubeletError(w, fmt.Sprintf("container not found (%q)", target.Container), http.StatusInternalServerError)
		return
	}
	command := r.URL.Query()["command"]
	executor := &shellExecutor{shell: k.shell, target: target}
	streaming.ServeExec(w, r, executor, target.Pod, types.UID(""), target.Container, command, opts,
		streamIdleTimeout, streamCreationTimeout, remotecommandconsts.SupportedStreamingProtocols)
}

func (k *kubelet) containerLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := url.Values{
		"node": {k.node}, "namespace": {r.PathValue("namespace")}, "pod": {r.PathValue("pod")},
		"container": {r.PathValue("container")},
		"previous":  {boolParam(q.Get("previous"))}, "timestamps": {boolParam(q.Get("timestamps"))},
	}
	if tail := q.Get("tailLines"); tail != "" {
		query.Set("tailLines", tail)
	}
	resp, err := k.shell.get(r.Context(), "/logs", query)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		message := shellMessage(resp.Body)
		if message == "" {
			message = fmt.Sprintf("pod %q does not exist", r.PathValue("pod")) // the kubelet's text
		}
		kubeletError(w, message, http.StatusNotFound)
		return
	}
	if resp.StatusCode == http.StatusBadRequest {
		// the kubelet's refusal of the log of a container that never started (or with no previous one):
		// Kubelet.validateContainerLogStatus (pkg/kubelet/kubelet_pods.go, v1.32.13), sent by getContainerLogs
		// (pkg/kubelet/server/server.go) as a 400 with its text; the API server turns it into BadRequest
		kubeletError(w, shellMessage(resp.Body), http.StatusBadRequest)
		return
	}
	if resp.StatusCode != http.StatusOK {
		http.Error(w, fmt.Sprintf("the node shell answered %s: %s", resp.Status, shellMessage(resp.Body)), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.Copy(w, resp.Body)
}

// kubeletError writes one of the kubelet's own refusals as it does: the text alone, no trailing newline
// (go-restful's Response.WriteError for getExec and getContainerLogs, streaming.WriteError for GetExec's).
func kubeletError(w http.ResponseWriter, message string, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8") // what net/http sniffs for the kubelet's text
	w.WriteHeader(status)
	_, _ = io.WriteString(w, message)
}

// boolParam normalises a query boolean as the API server sends it ("true", "1", ...) to true/false.
func boolParam(v string) string {
	if v == "true" || v == "1" {
		return "true"
	}
	return "false"
}

// shellTarget names a container on a node; it is the identifying part of the shell's requests.
type shellTarget struct {
	Node      string `json:"node"`
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Container string `json:"container"`
}

type shellClient struct {
	base *url.URL
	http *http.Client
}

type execRequest struct {
	shellTarget
	Command []string `json:"command"`
	Stdin   *string  `json:"stdin"`
	TTY     bool     `json:"tty"`
}

type execResult struct {
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
	ExitCode int    `json:"exit_code"`
}

// errUnknownPod is the shell's 404.
var errUnknownPod = errors.New("pod does not exist")

func (s *shellClient) get(ctx context.Context, path string, query url.Values) (*http.Response, error) {
	u := *s.base
	u.Path, u.RawQuery = path, query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the node shell: %w", err)
	}
	return resp, nil
}

// running asks the shell whether the container runs (GET /running): errUnknownPod for a pod the node does
// not run, else whether an exec may go to it.
func (s *shellClient) running(ctx context.Context, t shellTarget) (bool, error) {
	resp, err := s.get(ctx, "/running", url.Values{
		"node": {t.Node}, "namespace": {t.Namespace}, "pod": {t.Pod}, "container": {t.Container},
	})
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var answer struct {
			Running bool `json:"running"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
			return false, fmt.Errorf("the node shell's running answer: %w", err)
		}
		return answer.Running, nil
	case http.StatusNotFound:
		return false, errUnknownPod
	}
	return false, fmt.Errorf("the node shell answered %s to a running check: %s", resp.Status, shellMessage(resp.Body))
}

func (s *shellClient) exec(ctx context.Context, r execRequest) (execResult, error) {
	var result execResult
	body, err := json.Marshal(r)
	if err != nil {
		return result, err
	}
	u := *s.base
	u.Path = "/exec"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return result, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return result, fmt.Errorf("the node shell: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.NewDecoder(resp.Body).Decode(&result); err != nil {
			return result, fmt.Errorf("the node shell's exec answer: %w", err)
		}
		return result, nil
	case http.StatusNotFound:
		return result, errUnknownPod
	}
	return result, fmt.Errorf("the node shell answered %s: %s", resp.Status, shellMessage(resp.Body))
}

// shellMessage is the shell's error text: the "message" of a JSON body, or the body itself.
func shellMessage(body io.Reader) string {
	raw, _ := io.ReadAll(io.LimitReader(body, 64<<10))
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &m) == nil && m.Message != "" {
		return m.Message
	}
	return strings.TrimSpace(string(raw))
}

// shellExecutor runs one exec through the shell: the whole stdin first, then the output, then the exit code.
type shellExecutor struct {
	shell  *shellClient
	target shellTarget
}

func (e *shellExecutor) ExecInContainer(ctx context.Context, _ string, _ types.UID, _ string, cmd []string,
	in io.Reader, out, errOut io.WriteCloser, tty bool, _ <-chan remotecommand.TerminalSize, _ time.Duration) error {
	req := execRequest{shellTarget: e.target, Command: cmd, TTY: tty}
	if in != nil {
		data, err := io.ReadAll(in)
		if err != nil {
			return fmt.Errorf("reading stdin: %w", err)
		}
		encoded := base64.StdEncoding.EncodeToString(data)
		req.Stdin = &encoded
	}
	result, err := e.shell.exec(ctx, req)
	if err != nil {
		return err
	}
	if tty && errOut == nil { // a terminal has one output stream
		result.Stdout += result.Stderr
		result.Stderr = ""
	}
	for _, s := range []struct {
		w    io.Writer
		text string
	}{{out, result.Stdout}, {errOut, result.Stderr}} {
		if s.w != nil && s.text != "" {
			if _, err := io.WriteString(s.w, s.text); err != nil {
				return err
			}
		}
	}
	if result.ExitCode != 0 {
		// ServeExec reports an exited ExitError as NonZeroExitCode with the code (kubectl exits with it)
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", result.ExitCode), Code: result.ExitCode}
	}
	return nil
}

// printKubelets prints the `kubelet: NAME IP PORT` lines of the interface.
func printKubelets(kubelets []*kubelet) {
	for _, k := range kubelets {
		fmt.Fprintf(os.Stdout, "kubelet: %s %s %d\n", k.node, k.ip, k.port)
	}
}
