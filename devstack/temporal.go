// Package devstack runs the services Telos needs inside one process for `telos dev`
// and for end-to-end tests: an embedded Temporal server whose state lives in a
// SQLite file, and an embedded Redis-protocol server.
package devstack

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// TemporalConfig says where the embedded Temporal server keeps its state and listens.
type TemporalConfig struct {
	// DatabaseFile is the SQLite file for Temporal's state; empty keeps it in memory.
	DatabaseFile string
	// IP to bind all services to; loopback by default.
	IP string
	// FrontendPort is the gRPC port clients dial; 0 picks a free port.
	FrontendPort int
	// Namespace to create at start.
	Namespace string
}

// Temporal is a running embedded Temporal server.
type Temporal struct {
	server  temporal.Server
	address string
}

// Address is the host:port of the frontend gRPC service.
func (t *Temporal) Address() string { return t.address }

// Stop shuts the server down.
func (t *Temporal) Stop() error { return t.server.Stop() }

// StartTemporal starts an embedded Temporal server and returns once it serves.
func StartTemporal(cfg TemporalConfig) (*Temporal, error) {
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	ports, err := freePorts(cfg.IP, 5)
	if err != nil {
		return nil, err
	}
	if cfg.FrontendPort == 0 {
		cfg.FrontendPort = ports[0]
	}
	const clusterName = "active"
	hostPort := func(p int) string { return net.JoinHostPort(cfg.IP, strconv.Itoa(p)) }

	sqlConf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if cfg.DatabaseFile == "" {
		sqlConf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		sqlConf.DatabaseName = fmt.Sprintf("telos-%d-%d", os.Getpid(), time.Now().UnixNano())
		if err := sqliteschema.SetupSchema(sqlConf); err != nil {
			return nil, fmt.Errorf("set up temporal schema: %w", err)
		}
	} else {
		sqlConf.ConnectAttributes = map[string]string{"mode": "rwc", "_journal_mode": "WAL", "_busy_timeout": "10000"}
		sqlConf.DatabaseName = cfg.DatabaseFile
		if _, err := os.Stat(cfg.DatabaseFile); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(cfg.DatabaseFile), 0o700); err != nil {
				return nil, fmt.Errorf("create temporal data dir: %w", err)
			}
			if err := sqliteschema.SetupSchema(sqlConf); err != nil {
				return nil, fmt.Errorf("set up temporal schema: %w", err)
			}
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, cfg.Namespace, false, nil)
	if err != nil {
		return nil, fmt.Errorf("namespace config: %w", err)
	}
	if err := sqliteschema.CreateNamespaces(sqlConf, ns); err != nil {
		return nil, fmt.Errorf("create namespace: %w", err)
	}

	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = cfg.IP
	conf.Persistence.DefaultStore = "sqlite-default"
	conf.Persistence.VisibilityStore = "sqlite-default"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite-default": {SQL: sqlConf}}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             hostPort(cfg.FrontendPort),
				HTTPAddress:            hostPort(ports[1]),
				ClusterID:              "telos-dev",
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	svc := func(grpc, http int) config.Service {
		var s config.Service
		s.RPC.GRPCPort = grpc
		s.RPC.BindOnIP = cfg.IP
		s.RPC.HTTPPort = http
		return s
	}
	conf.Services = map[string]config.Service{
		"frontend": svc(cfg.FrontendPort, ports[1]),
		"history":  svc(ports[2], 0),
		"matching": svc(ports[3], 0),
		"worker":   svc(ports[4], 0),
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = hostPort(cfg.FrontendPort)

	dyn := dynamicconfig.StaticClient{
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	}
	hosts := map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: static.SingleLocalHost(hostPort(cfg.FrontendPort)),
		primitives.HistoryService:  static.SingleLocalHost(hostPort(ports[2])),
		primitives.MatchingService: static.SingleLocalHost(hostPort(ports[3])),
		primitives.WorkerService:   static.SingleLocalHost(hostPort(ports[4])),
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(&conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(tlog.NewNoopLogger()),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("build temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	return &Temporal{server: srv, address: hostPort(cfg.FrontendPort)}, nil
}

// freePorts reserves n distinct free TCP ports on ip by listening and closing.
func freePorts(ip string, n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, fmt.Errorf("find free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
