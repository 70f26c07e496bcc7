// compose-dotenv: reads an env file with docker compose's own parser (compose-go's dotenv
// package, what `env_file:` uses) and prints the variables as one JSON object. Used by the env
// file round-trip tests (test/unit/src/env-file/readers.test.js). Usage: compose-dotenv FILE
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-dotenv FILE")
		os.Exit(2)
	}
	// the same call docker compose makes for env_file, with an empty current environment
	env, err := dotenv.GetEnvFromFile(map[string]string{}, []string{os.Args[1]})
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-dotenv:", err)
		os.Exit(1)
	}
	out, _ := json.Marshal(env)
	os.Stdout.Write(out)
}
