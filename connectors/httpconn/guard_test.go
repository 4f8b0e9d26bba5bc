package httpconn_test

import (
	"errors"
	"net"
	"testing"

	"github.com/telos-dev/telos/connectors"
	"github.com/telos-dev/telos/connectors/httpconn"
)

func TestCheckIP(t *testing.T) {
	tests := []struct {
		ip      string
		refused bool
	}{
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"::1", true},
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"::", true},
		{"10.0.0.1", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.168.0.1", true},
		{"169.254.169.254", true},
		{"fe80::1", true},
		{"fd00:ec2::254", true},
		{"fc00::1", true},
		{"fec0::1", true},
		{"100.64.0.1", true},
		{"100.127.255.255", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"ff02::1", true},
		{"255.255.255.255", true},
		{"240.0.0.1", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"::127.0.0.1", true},
		{"64:ff9b::7f00:1", true},
		{"64:ff9b::a9fe:a9fe", true},
		{"64:ff9b::c0a8:1", true},
		{"64:ff9b:1::1", true},
		{"2002:7f00:1::", true},
		{"2002:a00:1::", true},

		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"93.184.216.34", false},
		{"172.32.0.1", false},
		{"100.128.0.1", false},
		{"169.255.0.1", false},
		{"2606:4700:4700::1111", false},
		{"::ffff:8.8.8.8", false},
		{"64:ff9b::808:808", false},
		{"2002:808:808::", false},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			ip := net.ParseIP(tt.ip)
			if ip == nil {
				t.Fatalf("test address %q does not parse", tt.ip)
			}
			err := httpconn.CheckIP(ip)
			if got := err != nil; got != tt.refused {
				t.Fatalf("got refused %v (%v), want %v", got, err, tt.refused)
			}
			if err == nil {
				return
			}
			var cerr *connectors.Error
			if !errors.As(err, &cerr) || cerr.Code != connectors.CodeForbiddenDestination {
				t.Errorf("got %v, want code %q", err, connectors.CodeForbiddenDestination)
			}
		})
	}

	t.Run("4-byte and 16-byte forms agree", func(t *testing.T) {
		if err := httpconn.CheckIP(net.IPv4(127, 0, 0, 1).To4()); err == nil {
			t.Errorf("got nil for 4-byte 127.0.0.1, want a refusal")
		}
		if err := httpconn.CheckIP(net.IPv4(127, 0, 0, 1).To16()); err == nil {
			t.Errorf("got nil for 16-byte 127.0.0.1, want a refusal")
		}
	})
	t.Run("malformed", func(t *testing.T) {
		if err := httpconn.CheckIP(net.IP{1, 2, 3}); err == nil {
			t.Errorf("got nil for a 3-byte IP, want a refusal")
		}
	})
}
