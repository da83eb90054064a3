// Credentials: one CA (serving certificate, client certificates, the controller manager's signer), a
// ServiceAccount signing key, a static token file and the kubeconfigs.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const serviceCIDR = "10.96.0.0/24"

// tokenUser is a user of the static token file, and a context of the same name in the kubeconfig. The
// groups are those deploy/rbac.yaml binds its roles to.
type tokenUser struct {
	user   string
	groups []string
}

var tokenUsers = []tokenUser{
	{"inspector", []string{"cilium-lab-inspectors"}},
	{"operator", []string{"cilium-lab-operators"}},
	{"host-operator", []string{"cilium-lab-host-operators"}},
	{"readonly", nil}, // authenticated, bound to nothing (the emulator's user of that name)
}

// The RBAC bootstrap policy binds these users to the roles of the same names
// (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go, user.KubeControllerManager, user.KubeScheduler).
const (
	controllerManagerUser = "system:kube-controller-manager"
	schedulerUser         = "system:kube-scheduler"
)

type credentialFiles struct {
	caCert, caKey, servingCert, servingKey, saPublic, saPrivate, tokens string
	adminCert, adminKey                                                 string
	kubeletClientCert, kubeletClientKey                                 string
	kubeconfig, controllerManagerKubeconfig, schedulerKubeconfig        string
}

func writeCredentials(dir, server string) (credentialFiles, error) {
	p := func(name string) string { return filepath.Join(dir, name) }
	f := credentialFiles{
		caCert: p("ca.crt"), caKey: p("ca.key"), servingCert: p("apiserver.crt"), servingKey: p("apiserver.key"),
		saPublic: p("sa.pub"), saPrivate: p("sa.key"), tokens: p("tokens.csv"),
		adminCert: p("admin.crt"), adminKey: p("admin.key"),
		kubeletClientCert: p("apiserver-kubelet-client.crt"), kubeletClientKey: p("apiserver-kubelet-client.key"),
		kubeconfig: p("kubeconfig"), controllerManagerKubeconfig: p("controller-manager.kubeconfig"),
		schedulerKubeconfig: p("scheduler.kubeconfig"),
	}
	ca, caKey, err := newCertificate(pkix.Name{CommonName: "cilium-lab-controlplane-ca"}, nil, nil, nil, nil)
	if err != nil {
		return f, err
	}
	// The API server's names: loopback, and the `kubernetes` Service's first address of serviceCIDR.
	serving, servingKey, err := newCertificate(pkix.Name{CommonName: "kube-apiserver"}, ca, caKey,
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		[]net.IP{net.ParseIP(loopback), net.ParseIP("10.96.0.1")})
	if err != nil {
		return f, err
	}
	admin, adminKey, err := newCertificate(pkix.Name{CommonName: "cilium-lab-admin", Organization: []string{"system:masters"}},
		ca, caKey, nil, nil)
	if err != nil {
		return f, err
	}
	// the API server's client certificate towards kubelets, kubeadm's (kubeadmconstants.APIServerKubeletClientCertCommonName)
	kubeletClient, kubeletClientKey, err := newCertificate(pkix.Name{CommonName: "kube-apiserver-kubelet-client"},
		ca, caKey, nil, nil)
	if err != nil {
		return f, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return f, err
	}
	pems := map[string][]byte{}
	for path, block := range map[string]*pem.Block{
		f.caCert: certBlock(ca), f.caKey: keyBlock(caKey),
		f.servingCert: certBlock(serving), f.servingKey: keyBlock(servingKey),
		f.adminCert: certBlock(admin), f.adminKey: keyBlock(adminKey),
		f.kubeletClientCert: certBlock(kubeletClient), f.kubeletClientKey: keyBlock(kubeletClientKey),
		f.saPrivate: keyBlock(saKey), f.saPublic: {Type: "PUBLIC KEY", Bytes: saPub},
	} {
		pems[path] = pem.EncodeToMemory(block)
		if err := os.WriteFile(path, pems[path], 0o600); err != nil {
			return f, err
		}
	}

	// tokens.csv: token,user,uid,"group1,group2"
	config := clientcmdapi.NewConfig()
	config.Clusters["controlplane"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: pems[f.caCert]}
	config.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: pems[f.adminCert], ClientKeyData: pems[f.adminKey]}
	config.Contexts["admin"] = &clientcmdapi.Context{Cluster: "controlplane", AuthInfo: "admin", Namespace: "default"}
	config.CurrentContext = "admin"
	var rows []string
	all := append(tokenUsers, tokenUser{controllerManagerUser, nil}, tokenUser{schedulerUser, nil})
	componentTokens := map[string]string{}
	for i, u := range all {
		token, err := randomToken()
		if err != nil {
			return f, err
		}
		rows = append(rows, fmt.Sprintf("%s,%s,%d,\"%s\"", token, u.user, 1000+i, strings.Join(u.groups, ",")))
		if u.user == controllerManagerUser || u.user == schedulerUser {
			componentTokens[u.user] = token
			continue
		}
		config.AuthInfos[u.user] = &clientcmdapi.AuthInfo{Token: token}
		config.Contexts[u.user] = &clientcmdapi.Context{Cluster: "controlplane", AuthInfo: u.user, Namespace: "default"}
	}
	if err := os.WriteFile(f.tokens, []byte(strings.Join(rows, "\n")+"\n"), 0o600); err != nil {
		return f, err
	}
	if err := clientcmd.WriteToFile(*config, f.kubeconfig); err != nil {
		return f, err
	}
	for path, user := range map[string]string{
		f.controllerManagerKubeconfig: controllerManagerUser, f.schedulerKubeconfig: schedulerUser,
	} {
		c := clientcmdapi.NewConfig()
		c.Clusters["controlplane"] = config.Clusters["controlplane"]
		c.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: componentTokens[user]}
		c.Contexts[user] = &clientcmdapi.Context{Cluster: "controlplane", AuthInfo: user}
		c.CurrentContext = user
		if err := clientcmd.WriteToFile(*c, path); err != nil {
			return f, err
		}
	}
	return f, nil
}

// newCertificate makes an ECDSA P-256 certificate: a self-signed CA when parent is nil, otherwise a leaf
// for serving (names given) or for clients (no names).
func newCertificate(subject pkix.Name, parent *x509.Certificate, parentKey crypto.Signer,
	dnsNames []string, ips []net.IP) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: subject, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		DNSNames: dnsNames, IPAddresses: ips, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	switch {
	case parent == nil:
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		parent, parentKey = tmpl, key
	case len(dnsNames)+len(ips) > 0:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	default:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func certBlock(c *x509.Certificate) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw} }

func keyBlock(k *ecdsa.PrivateKey) *pem.Block {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		panic(err) // only for curves Go does not support
	}
	return &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
}

func randomToken() (string, error) {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	return hex.EncodeToString(b), err
}

// adminClient is an HTTPS client with the admin's client certificate, trusting only the CA.
func adminClient(f credentialFiles) (*http.Client, error) {
	pair, err := tls.LoadX509KeyPair(f.adminCert, f.adminKey)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(f.caCert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}, nil
}

// loadCA reads back the CA that writeCredentials wrote, to sign the kubelets' serving certificates.
func loadCA(f credentialFiles) (*x509.Certificate, crypto.Signer, error) {
	pair, err := tls.LoadX509KeyPair(f.caCert, f.caKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, err
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("the CA key %s cannot sign", f.caKey)
	}
	return cert, key, nil
}
