package connectors

import (
	"net/url"
	"strconv"
	"strings"
)

// Redact removes every secret from s in each form an upstream might echo it:
// as is, query- or path-escaped, and escaped inside a JSON string. Every
// connector passes upstream text through it before the text reaches an
// error, a log line or the ledger.
func Redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		quoted := strconv.Quote(secret)
		for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret), quoted[1 : len(quoted)-1]} {
			s = strings.ReplaceAll(s, form, "[redacted]")
		}
	}
	return s
}
