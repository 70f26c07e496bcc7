// A small Java program for network tests (java 11+ runs it from source: java Probe.java OP ARGS).
// One operation per run, one JSON-ish line on stdout: {"ok":true,...} or {"ok":false,"error":"Class: msg"}.
//   http URL       java.net.http.HttpClient GET (NIO, non-blocking connect, AF_INET6 dual-stack sockets)
//   socket HOST PORT   java.net.Socket echo; prints the remote address Java sees (getpeername)
//   lookup NAME    InetAddress.getAllByName
import java.io.*;
import java.net.*;
import java.net.http.*;
import java.time.Duration;

public class Probe {
  static String q(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }

  public static void main(String[] a) {
    long t0 = System.nanoTime();
    String out;
    try {
      switch (a[0]) {
        case "http": {
          HttpClient c = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20)).build();
          HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create(a[1])).timeout(Duration.ofSeconds(20)).build(),
              HttpResponse.BodyHandlers.ofString());
          out = "\"status\":" + r.statusCode() + ",\"body\":" + q(r.body());
          break;
        }
        case "socket": {
          try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(a[1], Integer.parseInt(a[2])), 20000);
            s.setSoTimeout(20000);
            s.getOutputStream().write("java echo".getBytes());
            byte[] buf = new byte[9];
            int n = 0;
            while (n < 9) { int r = s.getInputStream().read(buf, n, 9 - n); if (r < 0) break; n += r; }
            out = "\"data\":" + q(new String(buf, 0, n)) + ",\"remote\":" + q(s.getInetAddress().getHostAddress())
                + ",\"port\":" + s.getPort();
          }
          break;
        }
        case "lookup": {
          StringBuilder sb = new StringBuilder();
          for (InetAddress i : InetAddress.getAllByName(a[1])) sb.append(sb.length() > 0 ? "," : "").append(q(i.getHostAddress()));
          out = "\"addresses\":[" + sb + "]";
          break;
        }
        default:
          throw new IllegalArgumentException("unknown op " + a[0]);
      }
      out = "{\"ok\":true," + out;
    } catch (Exception e) {
      Throwable c = e;
      while (c.getCause() != null) c = c.getCause();
      out = "{\"ok\":false,\"error\":" + q(c.getClass().getSimpleName() + ": " + c.getMessage());
    }
    System.out.println(out + ",\"ms\":" + (System.nanoTime() - t0) / 1000000 + "}");
  }
}
