package devstack

import (
	"fmt"

	"github.com/alicebob/miniredis/v2"
)

// Redis is an embedded Redis-protocol server (miniredis) on a loopback port.
// It keeps data in memory only.
type Redis struct {
	srv *miniredis.Miniredis
}

// StartRedis starts the embedded Redis-protocol server on addr ("127.0.0.1:0"
// picks a free port).
func StartRedis(addr string) (*Redis, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(addr); err != nil {
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	return &Redis{srv: m}, nil
}

// URL is the redis:// URL clients connect to.
func (r *Redis) URL() string { return "redis://" + r.srv.Addr() }

// Stop shuts the server down.
func (r *Redis) Stop() { r.srv.Close() }
