// The portal's own server (`npm start`): Next's request handler behind HTTPS. With TLS on (the
// default: a self-signed certificate generated on the first start and kept in <data>/tls, or
// BRIDGEHEAD_TLS_CERT/KEY), one port answers both: a TLS ClientHello goes to HTTPS, anything else
// gets a redirect to https (except guests' cloud-init seeds, /seed/…), and every HTTPS answer
// carries HSTS. BRIDGEHEAD_TLS=off serves plain
// HTTP (tests; or a TLS proxy in front, whose certificate BRIDGEHEAD_TLS_PIN names for agents).
import http from "node:http";
import https from "node:https";
import net from "node:net";
import path from "node:path";
import next from "next";
import { getApp } from "./app";
import { FORWARDED } from "./forwarded";
import { loadServedMaterial, tlsFiles } from "./tls";

const HSTS = "max-age=31536000";
/** The first byte of every TLS record that opens a connection (a handshake record). */
const TLS_HANDSHAKE = 0x16;

async function main() {
  const port = Number(process.env.PORT ?? 3000);
  const hostname = process.env.HOSTNAME_BIND ?? "0.0.0.0";
  let app: ReturnType<typeof getApp>;
  let material: ReturnType<typeof loadServedMaterial>;
  try {
    app = getApp();
    material = loadServedMaterial(app.env);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
  const nextApp = next({ dev: false, dir: path.resolve(import.meta.dirname, ".."), hostname, port });
  await nextApp.prepare();
  const handle = nextApp.getRequestHandler();
  const trustProxy = app.env.BRIDGEHEAD_TRUST_PROXY;
  const plain = (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Next derives the scheme and client address from these when present: only a trusted
    // proxy may set them (the same rule scrubForwardedHeaders applies to plain http).
    if (!trustProxy) for (const h of FORWARDED) delete req.headers[h];
    void handle(req, res);
  };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (material) res.setHeader("strict-transport-security", HSTS);
    plain(req, res);
  };

  if (!material) {
    http.createServer(handler).listen(port, hostname, () => {
      console.log(`Bridgehead: serving http://localhost:${port} (BRIDGEHEAD_TLS=off: plain HTTP)`);
    });
    return;
  }
  const files = tlsFiles(app.env);
  app.tls.serve(material, { cert: files.cert, key: files.key, generate: files.mode === "self-signed" });
  const secure = https.createServer({ cert: material.cert, key: material.key }, handler);
  app.tls.onActivate = (m) => {
    secure.setSecureContext({ cert: m.cert, key: m.key });
    // Kept-alive connections still speak the old certificate: new ones must show the new one.
    secure.closeIdleConnections();
  };
  const redirect = http.createServer((req, res) => {
    // A guest's cloud-init seed also answers over plain http on the same port: cloud-init cannot
    // verify a self-signed certificate, and the URL's secret is all a seed request carries.
    if (req.url?.startsWith("/seed/")) return plain(req, res);
    const origin = app.env.BRIDGEHEAD_URL?.startsWith("https:")
      ? new URL(app.env.BRIDGEHEAD_URL).origin
      : `https://${req.headers.host ?? `localhost:${port}`}`;
    res.writeHead(308, { location: `${origin}${req.url ?? "/"}` });
    res.end();
  });
  const front = net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.once("data", (first) => {
      socket.pause();
      socket.unshift(first);
      (first[0] === TLS_HANDSHAKE ? secure : redirect).emit("connection", socket);
      process.nextTick(() => socket.resume());
    });
    socket.on("error", () => socket.destroy());
    socket.resume();
  });
  front.listen(port, hostname, () => {
    console.log(
      `Bridgehead: serving https://localhost:${port} (${files.mode === "self-signed" ? `self-signed certificate ${files.cert}` : files.cert}); agents pin SHA-256 ${material!.fingerprint}`,
    );
  });
}

void main();
