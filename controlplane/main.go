// Command cilium-lab-controlplane runs a real Kubernetes control plane on 127.0.0.1 for cilium-lab's tests:
// etcd (embedded), kube-apiserver (in this process), kube-controller-manager and kube-scheduler (this binary
// re-executed), all of the Kubernetes release pinned in go.mod. It writes certificates, a static token file and a
// kubeconfig (one context per user, see users.go) into a working directory, prints
//
//	kubeconfig: <path>
//	kubelet: <node> <ip> <port>    (one per --kubelet NAME=IP, see kubelet.go)
//	ready: <server url> kube-apiserver <version>
//
// once the API server answers /readyz and the controller manager has created the default ServiceAccount,
// and on SIGTERM or SIGINT stops them all and removes the working directory. It registers no nodes: the
// caller does (the scheduler binds pods to them).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/apimachinery/pkg/util/wait"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/version"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	schedulerapp "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

// The controller manager and the scheduler run as child processes: each command registers process-wide
// globals (feature gates, logging flags, metrics) that are set once per process.
const (
	kcmSubcommand       = "kube-controller-manager"
	schedulerSubcommand = "kube-scheduler"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == kcmSubcommand || os.Args[1] == schedulerSubcommand) {
		cmd := kcmapp.NewControllerManagerCommand()
		if os.Args[1] == schedulerSubcommand {
			cmd = schedulerapp.NewSchedulerCommand()
		}
		cmd.SetArgs(os.Args[2:])
		if err := cmd.Execute(); err != nil {
			os.Exit(1)
		}
		return
	}
	// Its own flag set: imported packages register theirs on flag.CommandLine.
	flags := flag.NewFlagSet("cilium-lab-controlplane", flag.ContinueOnError)
	dir := flags.String("dir", "", "working directory (created if missing; default: a new temporary directory); removed on exit")
	port := flags.Int("port", 0, "the API server's port on 127.0.0.1 (default: a free one)")
	timeout := flags.Duration("ready-timeout", 5*time.Minute, "how long to wait for the control plane to be ready")
	shellFlag := flags.String("kubelet-shell", "", "http://127.0.0.1:PORT of the emulated nodes' shell, where kubelet exec and logs go")
	var kubelets kubeletFlags
	flags.Var(&kubelets, "kubelet", "NAME=IP: serve node NAME's kubelet on IP (in 127.0.0.0/8) and a free port (repeatable; needs --kubelet-shell)")
	// A bad flag is one line (flag's own message, which says what the flag wants) and exit 2; -h lists them.
	flags.Usage = func() {
		if helpAsked() {
			flags.PrintDefaults()
		}
	}
	if err := flags.Parse(os.Args[1:]); errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	} else if err != nil {
		os.Exit(2)
	}
	var shell *url.URL
	if *shellFlag != "" {
		var err error
		if shell, err = parseShellURL(*shellFlag); err != nil {
			usageError(err.Error())
		}
	}
	if len(kubelets) > 0 && shell == nil {
		usageError("--kubelet needs --kubelet-shell URL (where the nodes' exec and logs go)")
	}
	if flags.NArg() > 0 {
		usageError(fmt.Sprintf("unexpected argument %q", flags.Arg(0)))
	}
	if err := run(*dir, *port, *timeout, kubelets, shell); err != nil {
		fmt.Fprintln(os.Stderr, "cilium-lab-controlplane:", err)
		os.Exit(1)
	}
}

func helpAsked() bool {
	for _, a := range os.Args[1:] {
		if a == "-h" || a == "-help" || a == "--help" || a == "--h" {
			return true
		}
	}
	return false
}

// usageError reports bad command-line input in one line and exits 2, as flag does, before anything starts.
func usageError(message string) {
	fmt.Fprintln(os.Stderr, "cilium-lab-controlplane:", message)
	os.Exit(2)
}

func run(dir string, port int, readyTimeout time.Duration, kubeletFlags kubeletFlags, shell *url.URL) (err error) {
	// The command takes the API server's signal context (genericapiserver.SetupSignalContext, once per
	// process): the first SIGTERM/SIGINT starts a graceful shutdown, a second exits. Made before anything
	// else, so a signal during start-up also cleans up.
	apiserver := apiserverapp.NewAPIServerCommand()
	ctx := apiserver.Context()
	if dir == "" {
		if dir, err = os.MkdirTemp("", "cilium-lab-controlplane-"); err != nil {
			return err
		}
	} else if err = os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	defer func() {
		if rmErr := os.RemoveAll(dir); rmErr != nil && err == nil {
			err = rmErr
		}
	}()
	ports, err := freePorts(5)
	if err != nil {
		return err
	}
	if port == 0 {
		port = ports[3]
	}
	server := "https://" + net.JoinHostPort(loopback, strconv.Itoa(port))

	files, err := writeCredentials(dir, server)
	if err != nil {
		return err
	}

	// The kubelets listen before the API server starts: their ports are known when nodes register.
	kubelets, err := listenKubelets(kubeletFlags, shell, files)
	if err != nil {
		return err
	}
	defer closeKubelets(kubelets)
	kubeletDone := make(chan error, len(kubelets))
	for _, k := range kubelets {
		go func() { kubeletDone <- k.serve() }()
	}

	etcd, err := startEtcd(filepath.Join(dir, "etcd"), ports[0], ports[1])
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer etcd.Close()

	apiserverDone := make(chan error, 1)
	apiserver.SetArgs(apiserverArgs(dir, files, port, ports[0]))
	go func() { apiserverDone <- apiserver.Execute() }()
	// apiserverExit turns the API server's end into this function's result: nil after a signal.
	apiserverExit := func(err error) error {
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("exited")
		}
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	// stop shuts the API server down and returns why it had to (nil when a signal asked for it).
	stop := func(why error) error {
		if ctx.Err() == nil { // a second shutdown request would exit at once (SetupSignalContext)
			genericapiserver.RequestShutdown()
		}
		<-apiserverDone
		if ctx.Err() != nil {
			return nil // shut down on a signal (which also stops the controller manager)
		}
		return why
	}

	client, err := adminClient(files)
	if err != nil {
		return stop(err)
	}
	readyCtx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	select {
	case err := <-background(func() error { return waitOK(readyCtx, client, server+"/readyz") }):
		if err != nil {
			return stop(fmt.Errorf("not ready: %w", err))
		}
	case err := <-apiserverDone:
		return apiserverExit(err)
	}
	// The controller manager and the scheduler start once the API server is ready: before, their bootstrap
	// RBAC may not exist yet, and they exit on the first 403.
	childDone := make(chan childExit, 2)
	var children []*exec.Cmd
	defer func() {
		for _, c := range children {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
		for range children {
			<-childDone
		}
	}()
	for _, c := range []struct {
		name string
		args []string
	}{
		{kcmSubcommand, controllerManagerArgs(dir, files, ports[2])},
		{schedulerSubcommand, schedulerArgs(dir, files, ports[4])},
	} {
		cmd, err := startChild(c.name, c.args)
		if err != nil {
			return stop(fmt.Errorf("%s: %w", c.name, err))
		}
		children = append(children, cmd)
		go func() { childDone <- childExit{c.name, cmd.Wait()} }()
	}
	// On a signal the children go first: the API server's graceful shutdown waits for the requests in
	// flight, their watches among them.
	go func() {
		<-ctx.Done()
		for _, c := range children {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
	}()

	// Ready when the controller manager has created the default ServiceAccount.
	serviceAccount := server + "/api/v1/namespaces/default/serviceaccounts/default"
	readyErr := background(func() error { return waitOK(readyCtx, client, serviceAccount) })
	for {
		select {
		case err := <-readyErr:
			if err != nil {
				return stop(fmt.Errorf("not ready: %w", err))
			}
			fmt.Printf("kubeconfig: %s\n", files.kubeconfig)
			printKubelets(kubelets)
			fmt.Printf("ready: %s kube-apiserver %s\n", server, version.Get().GitVersion)
			readyErr = nil
		case err := <-kubeletDone:
			return stop(err) // only a failed server ends early; closeKubelets runs at the end
		case exit := <-childDone:
			childDone <- exit // for the deferred wait
			return stop(fmt.Errorf("%s exited: %v", exit.name, exit.err))
		case err := <-apiserverDone:
			return apiserverExit(err)
		}
	}
}

// background runs f in a goroutine; its result arrives on the channel.
func background(f func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	return done
}

const loopback = "127.0.0.1"

// freePorts returns n distinct ports that were free on 127.0.0.1 a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func startEtcd(dataDir string, clientPort, peerPort int) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Dir = dataDir
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = true // test data, removed on exit
	client := url.URL{Scheme: "http", Host: net.JoinHostPort(loopback, strconv.Itoa(clientPort))}
	peer := url.URL{Scheme: "http", Host: net.JoinHostPort(loopback, strconv.Itoa(peerPort))}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case <-time.After(time.Minute):
		e.Close()
		return nil, errors.New("not ready within a minute")
	}
}

func apiserverArgs(dir string, f credentialFiles, port, etcdPort int) []string {
	return []string{
		"--etcd-servers=http://" + net.JoinHostPort(loopback, strconv.Itoa(etcdPort)),
		"--bind-address=" + loopback,
		"--advertise-address=" + loopback,
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file=" + f.servingCert,
		"--tls-private-key-file=" + f.servingKey,
		"--client-ca-file=" + f.caCert,
		"--token-auth-file=" + f.tokens,
		"--authorization-mode=Node,RBAC",
		// kubelet calls (exec, logs) go to the emulated nodes' endpoints, verified against the CA
		"--kubelet-client-certificate=" + f.kubeletClientCert,
		"--kubelet-client-key=" + f.kubeletClientKey,
		"--kubelet-certificate-authority=" + f.caCert,
		"--kubelet-preferred-address-types=InternalIP",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + f.saPublic,
		"--service-account-signing-key-file=" + f.saPrivate,
		"--service-cluster-ip-range=" + serviceCIDR,
		"--allow-privileged=true",
		"--profiling=false",
		"--enable-priority-and-fairness=false", // one client at a time in the tests; saves CPU
		// Endpoints may not hold loopback addresses (ValidateEndpoints), so the `kubernetes` Service's
		// endpoints cannot name this server: do not reconcile them
		"--endpoint-reconciler-type=none",
		"--v=0",
	}
}

func controllerManagerArgs(dir string, f credentialFiles, port int) []string {
	return []string{
		"--kubeconfig=" + f.controllerManagerKubeconfig,
		"--authentication-kubeconfig=" + f.controllerManagerKubeconfig,
		"--authorization-kubeconfig=" + f.controllerManagerKubeconfig,
		// no front proxy here: do not wait for the request-header CA in extension-apiserver-authentication
		"--authentication-skip-lookup=true",
		"--bind-address=" + loopback,
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(dir, "controller-manager-certs"),
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + f.saPrivate,
		"--root-ca-file=" + f.caCert,
		"--cluster-signing-cert-file=" + f.caCert,
		"--cluster-signing-key-file=" + f.caKey,
		"--service-cluster-ip-range=" + serviceCIDR,
		"--profiling=false",
		"--v=0",
	}
}

// schedulerArgs are kubeadm's flags for the scheduler (its static pod manifest), with leader election off
// and the same authentication shortcut as the controller manager's.
func schedulerArgs(dir string, f credentialFiles, port int) []string {
	return []string{
		"--kubeconfig=" + f.schedulerKubeconfig,
		"--authentication-kubeconfig=" + f.schedulerKubeconfig,
		"--authorization-kubeconfig=" + f.schedulerKubeconfig,
		"--authentication-skip-lookup=true",
		"--bind-address=" + loopback,
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(dir, "scheduler-certs"),
		"--leader-elect=false",
		"--profiling=false",
		"--v=0",
	}
}

type childExit struct {
	name string
	err  error
}

// startChild runs this binary again as one of the subcommands main knows.
func startChild(subcommand string, args []string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, append([]string{subcommand}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	// The child must not outlive this process, even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	return cmd, cmd.Start()
}

// waitOK polls a GET of url as admin until it answers 200.
func waitOK(ctx context.Context, client *http.Client, url string) error {
	var last error
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			last = err
			return false, nil
		}
		resp.Body.Close()
		last = fmt.Errorf("GET %s: %s", url, resp.Status)
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("%w (last: %v)", err, last)
	}
	return nil
}
