package devstack

// Temporary: keeps core dependencies in go.mod while packages are written.
import (
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/labstack/echo/v4"
	_ "github.com/pkoukk/tiktoken-go"
	_ "github.com/pkoukk/tiktoken-go-loader"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/sashabaranov/go-openai"
	_ "github.com/spf13/cobra"
	_ "go.temporal.io/sdk/client"
	_ "go.temporal.io/sdk/testsuite"
	_ "go.yaml.in/yaml/v3"
	_ "modernc.org/sqlite"
)
