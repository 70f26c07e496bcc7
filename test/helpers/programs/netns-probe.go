// The Go program of test/e2e/run-netns.test.js (built by the test, CGO_ENABLED=0: a static binary
// with Go's own resolver): GET http://ARG1/ with net/http, then ARG2:7 with net.Dial (the echo
// service), printing "go-http: BODY" and "go-echo: LINE".
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get("http://" + os.Args[1] + "/")
	if err != nil {
		fmt.Println("go-http error:", err)
		os.Exit(2)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("go-http: %s", body)
	conn, err := net.DialTimeout("tcp", os.Args[2]+":7", 30*time.Second)
	if err != nil {
		fmt.Println("go-echo error:", err)
		os.Exit(3)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "go-ping\n")
	line, _ := bufio.NewReader(conn).ReadString('\n')
	fmt.Printf("go-echo: %s", line)
}
