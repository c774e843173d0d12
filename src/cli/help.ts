/**
 * The `--help` texts. Short, in the layout mosquitto users know: a usage block, then one line per
 * option. Printed to stdout with exit code 0.
 */

/** `mqtt311 --help`. */
export const MAIN_HELP = `mqtt311: MQTT 3.1.1 broker, publisher, subscriber and packet decoder.

Usage: mqtt311 <command> [options]

Commands:
  broker   run a small MQTT 3.1.1 broker
  pub      publish a message (flags like mosquitto_pub)
  sub      subscribe and print messages (flags like mosquitto_sub)
  decode   print an annotated dump of MQTT packet bytes (hex or a binary file)
  passwd   manage a mosquitto password file (like mosquitto_passwd)
  proxy    sit between a client and a broker: print every packet, flag broken rules
  check    run a conformance suite against a broker and print a report card

Run "mqtt311 <command> --help" for the options of a command.
`;

const CONNECTION_HELP = ` -h : host to connect to (default localhost).
 -p : port to connect to (default 1883, or 8883 with TLS).
 -L : URL mqtt(s)://[user[:password]@]host[:port]/topic instead of -h -p -u -P -t.
 --unix : connect through this Unix domain socket instead of TCP.
 -A : bind the outgoing socket to this local address.
 -i : client id (default: empty, the server assigns one; with -V mqttv31 a random "mosq-" id).
 -I : client id prefix: the id is the prefix followed by the process id.
 -c : persistent session (CleanSession 0); needs -i or -I.
 -k : keep alive in seconds, 0 to 65535 (default 60; 0 turns it off).
 -u : user name.
 -P : password (needs -u).
 -q : QoS 0, 1 or 2 (default 0).
 -d : print every packet sent and received, as mosquitto's tools do.
 --quiet : print no error messages (the exit status still tells).
 -V : protocol version: mqttv311 or 311 (default), mqttv31 or 31. MQTT 5 is not supported.
 --nodelay : accepted for compatibility: Nagle's algorithm is always off.
 --will-topic   : topic of the will message the server sends if this client vanishes.
 --will-payload : payload of the will (default empty).
 --will-qos     : QoS of the will (default 0).
 --will-retain  : retain the will.
 --cafile   : CA certificate (PEM) to verify the server with; turns TLS on.
 --capath   : directory of CA certificates (PEM files); turns TLS on.
 --tls-use-os-certs : trust the CA certificates Node ships; turns TLS on.
 --cert     : client certificate (PEM) for TLS client authentication; needs --key.
 --key      : private key (PEM) of --cert.
 --ciphers  : OpenSSL cipher list.
 --tls-version : tlsv1.3, tlsv1.2 or tlsv1.1: use exactly this TLS version.
 --tls-alpn : ALPN protocol to offer.
 --psk, --psk-identity : TLS-PSK key (hex) and identity instead of certificates (TLS 1.2).
 --insecure : do not verify the server's certificate or host name.
 --help     : print this help.
Refused, with the reason: -x, -D/--property (MQTT 5), --proxy (SOCKS5),
--keyform, --tls-engine, --tls-engine-kpass-sha1 (OpenSSL engines).
Options are also read from $XDG_CONFIG_HOME/mosquitto_{pub,sub} or ~/.config/mosquitto_{pub,sub}:
one option a line, then a space and its value; lines starting with # are comments.`;

/** `mqtt311 pub --help`. */
export const PUB_HELP = `mqtt311 pub: publish one message, or one per line of stdin, and exit.

Usage: mqtt311 pub {[-h host] [--unix path] [-p port] [-u user [-P password]] -t topic | -L URL}
                   {-m message | -f file | -s | -l | -n}
                   [-q qos] [-r] [--repeat N] [--repeat-delay seconds] [-M max_inflight]
                   [-i id | -I id_prefix] [-c] [-k keepalive] [-A address] [-d] [--quiet]
                   [-V mqttv311|mqttv31] [--will-topic topic [--will-payload payload] [--will-qos qos] [--will-retain]]
                   [{--cafile file | --capath dir | --tls-use-os-certs} [--cert file --key file]
                    [--ciphers list] [--tls-version version] [--tls-alpn protocol] [--insecure]]
                   [--psk hex-key --psk-identity identity]
       mqtt311 pub --help

 -t : topic to publish to (no + or # wildcards).
 -m : message payload, sent byte for byte as typed.
 -f : send the contents of a file as the message.
 -s : send all of stdin as one message.
 -l : send each line of stdin as a separate message.
 -n : send an empty (zero length) message.
 -r : retain the message (with -n: clear the retained message).
 --repeat : with -m, -f, -s or -n, publish the message N times.
 --repeat-delay : seconds (fractions allowed) between repeated publishes (default 0).
 -M : QoS 1/2 messages in flight at once (default 20).
${CONNECTION_HELP}

With -l and -s a lost connection is retried (1 s, backing off to 30 s) and unacknowledged
messages are resent: no line is lost at QoS 1 or 2.

Exit status: 0 sent, 1 usage or connection error, 1-5 the CONNACK return code if refused.
`;

/** `mqtt311 sub --help`. */
export const SUB_HELP = `mqtt311 sub: subscribe to topic filters and print each message, as mosquitto_sub does.

Usage: mqtt311 sub {[-h host] [--unix path] [-p port] [-u user [-P password]] -t filter... | -L URL [-t filter...]}
                   [-q qos] [-v] [-N] [-F format [--pretty]] [-C count] [-W seconds] [-E]
                   [-R | --retained-only] [--remove-retained] [-T filter_out...] [-U filter...]
                   [--random-filter chance] [-i id | -I id_prefix] [-c] [-k keepalive] [-A address]
                   [-d] [--quiet] [-V mqttv311|mqttv31]
                   [--will-topic topic [--will-payload payload] [--will-qos qos] [--will-retain]]
                   [{--cafile file | --capath dir | --tls-use-os-certs} [--cert file --key file]
                    [--ciphers list] [--tls-version version] [--tls-alpn protocol] [--insecure]]
                   [--psk hex-key --psk-identity identity]
       mqtt311 sub --help

 -t : topic filter to subscribe to, + and # allowed; repeat for more.
 -T : do not print messages whose topic matches this filter; repeat for more.
 -U : unsubscribe from this filter after subscribing, on every connection; repeat for more.
 -v : print "topic payload" instead of the payload alone.
 -N : do not add a newline after each message.
 -F : output format: %t topic, %p payload, %q QoS, %r retain, %m message id, %l length,
      %x/%X payload in hex, %j/%J JSON (payload as string/as JSON), %I ISO 8601 time,
      %U Unix time, %% a %; flags -, 0, width and .precision as in printf; @X is strftime's
      %X (@N nanoseconds, @@ an @); escapes \\\\ \\0 \\a \\e \\n \\r \\t \\v. See man mosquitto_sub.
 --pretty : lay %j/%J JSON out over several lines.
 -C : exit after this many messages.
 -W : exit after this many seconds (exit status 27 when it runs out).
 -E : exit once the subscriptions are acknowledged.
 -R : do not print retained (stale) messages.
 --retained-only : print only retained messages; exit at the first one that is not.
 --remove-retained : clear each retained message received (not those -T filters out).
 --random-filter : print only this percentage of messages, 0.1 to 100.
${CONNECTION_HELP}

A lost connection is retried (1 s, backing off to 30 s); subscriptions are restored, or the
session resumed with -c. With -d each loss is reported on stderr.

Exit status: 0 done (Ctrl-C, -C, -E or --retained-only), 1 usage or connection error or every
filter refused, 1-5 the CONNACK return code if refused, 27 when -W runs out.
`;

/** `mqtt311 broker --help`. */
export const BROKER_HELP = `mqtt311 broker: run a small MQTT 3.1.1 broker until Ctrl-C (SIGINT) or SIGTERM.

Usage: mqtt311 broker [-p port] [-b address] [-c config] [--ws-port port]
                      [--tls-port port --certfile file --keyfile file [--cafile file] [--require-certificate]] [-v]
       mqtt311 broker --help

 -p, --port    : port of the first listener (default 1883; 0 picks a free one).
 -b, --host    : address of the first listener (default 127.0.0.1).
 -c, --config  : a mosquitto.conf (below); -p and -b change its first listener.
 --ws-port     : also serve MQTT over WebSocket on this port (0 picks a free one).
 --tls-port    : also serve MQTT over TLS on this port, with --certfile and --keyfile (PEM).
 --cafile      : CA certificates for client certificates (TLS listener).
 --require-certificate : TLS clients must present a certificate signed by --cafile.
 -v, --verbose : log connections and every packet to stderr (passwords redacted).
 -h, --help    : print this help.

Config file: mosquitto.conf as mosquitto 2.0 documents it (man mosquitto.conf). Every directive
is honoured or refused with a line naming the file, the line and why. Without a listener:
127.0.0.1:1883 only. "listener PORT" without an address binds every interface, and then
anonymous clients need "allow_anonymous true". Examples:
  listener 1883                 then per-listener settings: protocol websockets, mount_point,
  listener 8883 127.0.0.1       max_connections, max_qos, socket_domain, certfile, keyfile,
  certfile server.crt           cafile, capath, require_certificate, use_identity_as_username
  keyfile server.key
  allow_anonymous true
  password_file users.txt       made by mqtt311 passwd or mosquitto_passwd ($7$ / $6$ hashes)
  password_file_plaintext true  also accept plain-text "name:password" lines (refused by default)
  acl_file acl.txt              user NAME / topic [read|write|readwrite|deny] FILTER / pattern
  sys_interval 10               $SYS/broker/... every 10 s (0: off)
  log_dest file broker.log      or stdout, stderr, none; log_type notice, subscribe, debug (packets), ...
  pid_file broker.pid
broker-mini's own: user NAME PASSWORD (inline user), topic/acl_user/pattern lines inline,
max_retained_messages, max_retained_bytes, max_offline_sessions, connect_timeout (s),
log_packets true, ws_port PORT, memory_budget BYTES (incomplete packets + queued messages,
broker-wide), partial_packet_timeout S, takeover_by_other_user allow|refuse (CONNACK 5 when
another user's session holds the ClientId). Relative paths are relative to the config file.
`;

/** `mqtt311 decode --help`. */
export const DECODE_HELP = `mqtt311 decode: print an annotated dump of MQTT 3.1.1 packets.

Usage: mqtt311 decode [hex...]       bytes as hex, e.g. "30 07 00 03 61 2f 62 68 69"
       mqtt311 decode -f file        bytes from a binary file ("-" for stdin)
       mqtt311 decode --pcap file [--port 1883] [-v | --json] [--html out.html]
       ... | mqtt311 decode          hex from stdin
       mqtt311 decode --help

Hex may contain spaces, newlines, ":" or "," separators and 0x prefixes. Several packets in a
row are decoded one after the other. Bytes that are not valid MQTT 3.1.1 print the error code,
the spec rule and the byte offset where decoding stopped, and exit with status 1.

 -f : read raw bytes from a file instead of hex.
 --pcap : read a libpcap capture (tcpdump, dumpcap -P): reassemble the TCP connections to
          --port (default 1883) and print every packet as mqtt311 proxy does, violations included.
 -v     : with --pcap, field-by-field dump of every packet.
 --json : with --pcap, one JSON object per packet.
 --html : with --pcap, also write a sequence diagram of every connection to this file.
 --help : print this help.
`;

/** `mqtt311 proxy --help`. */
export const PROXY_HELP = `mqtt311 proxy: a transparent man-in-the-middle that prints and checks every MQTT packet.

Usage: mqtt311 proxy --listen port --to host:port [-v | --json] [--html file]
                     [--listen-ws] [--cert file --key file]
                     [--tls] [--cafile file] [--insecure] [--ws path]
                     [--drop type[,type]] [--delay ms] [--cut-after n]
       mqtt311 proxy --help

Bytes are forwarded unchanged. Each packet is printed, both ways, time-stamped (UTC) and
annotated; "!! [rule]" lines flag what breaks the standard (a re-delivery without DUP, a QoS 2
flow out of order, a packet id reused while in flight, a missed keep-alive, a malformed packet),
"note" lines show what is allowed but worth seeing.

 -l, --listen : port to accept clients on (0 picks a free one; printed on stderr).
 -b, --bind   : address to listen on (default 127.0.0.1).
 --to         : the server, host:port.
 -v           : field-by-field dump of every packet.
 --json       : one JSON object per line instead of text.
 --html       : when stopped (Ctrl-C), write a sequence diagram of every connection to this file.
 --listen-ws  : accept MQTT over WebSocket (subprotocol "mqtt") instead of TCP.
 --cert, --key: accept TLS with this certificate and key (PEM).
 --tls        : connect to the server with TLS; --cafile to verify it, --insecure not to.
 --ws         : connect to the server over WebSocket at this path (e.g. /mqtt).
 Faults (off by default, for learning and testing):
 --drop       : never forward packets of these types (e.g. --drop puback).
 --delay      : forward everything this many ms late.
 --cut-after  : close both sides after this many packets on a connection.
 --help       : print this help.
`;

/** `mqtt311 check --help`. */
export const CHECK_HELP = `mqtt311 check: run a conformance suite against an MQTT 3.1.1 broker and print a report card.

Usage: mqtt311 check host:port [-u user [-P password]] [--tls [--cafile file] [--insecure]] [--ws path]
                     [--timeout seconds] [--only rule]... [--json | --markdown [--title text]]
       mqtt311 check --help

One row per broker-side normative statement: the rule id, the statement in short, and PASS,
FAIL (with the bytes that show it) or NOT TESTABLE (and why). The suite publishes under
mqtt311-check/# and removes the retained messages and sessions it creates.

 -u, -P     : user name and password for every connection.
 --tls      : connect with TLS; --cafile to verify the broker, --insecure not to.
 --ws       : connect over WebSocket at this path (e.g. /mqtt).
 --timeout  : longest wait for any one answer, in seconds (default 3).
 --only     : run only this rule (e.g. --only MQTT-3.3.5-1); repeat for more.
 --json     : the report as JSON.
 --markdown : the report as a Markdown table (--title sets its heading).
 --help     : print this help.

Exit status: 0 when every testable rule passes, 1 otherwise.
`;
