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
 -U : unsubscribe from this filter after subscribing; repeat for more.
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

Usage: mqtt311 broker [-p port] [-b address] [-c config] [--ws-port port] [-v]
       mqtt311 broker --help

 -p, --port    : TCP port to listen on (default 1883; 0 picks a free one).
 -b, --host    : address to listen on (default 127.0.0.1; 0.0.0.0 for every interface).
 -c, --config  : configuration file (below); -p, -b and --ws-port override it.
 --ws-port     : also serve MQTT over WebSocket on this port (0 picks a free one).
 -v, --verbose : log connections and every packet to stderr (passwords redacted).
 -h, --help    : print this help.

Config file: one directive per line, "#" starts a comment line (much like mosquitto.conf):
  port 1883                  or: listener 1883 127.0.0.1
  bind_address 127.0.0.1
  allow_anonymous false
  user alice secret          a user and its plain-text password
  password_file users.txt    made by mqtt311 passwd or mosquitto_passwd ($7$ / $6$ hashes)
  password_file_plaintext true  also accept plain-text "name:password" lines (refused by default)
  acl_file acl.txt           mosquitto ACL format: user NAME / topic [read|write|readwrite|deny] FILTER
  topic read sensors/#       inline ACL rule (acl_user NAME starts a user's rules)
  pattern write clients/%c/# %c is the client id, %u the user name
  max_queued_messages 1000   per client, beyond the inflight window
  max_queued_bytes 33554432  per client: queued + inflight payload and topic bytes
  max_inflight 100
  max_packet_size 1048576
  max_retained_messages 100000
  max_retained_bytes 268435456
  max_offline_sessions 10000 persistent sessions kept while offline
  max_connections 100000
  connect_timeout 10         seconds
  memory_budget 268435456    broker-wide bytes: incomplete packets + queued/inflight messages
  partial_packet_timeout 60  seconds from a packet's first byte to its last
  log_packets true
  takeover_by_other_user allow  or refuse: CONNACK 5 when another user's session holds the ClientId
  ws_port 8080
Relative paths are relative to the config file.
`;

/** `mqtt311 decode --help`. */
export const DECODE_HELP = `mqtt311 decode: print an annotated dump of MQTT 3.1.1 packets.

Usage: mqtt311 decode [hex...]       bytes as hex, e.g. "30 07 00 03 61 2f 62 68 69"
       mqtt311 decode -f file        bytes from a binary file ("-" for stdin)
       ... | mqtt311 decode          hex from stdin
       mqtt311 decode --help

Hex may contain spaces, newlines, ":" or "," separators and 0x prefixes. Several packets in a
row are decoded one after the other. Bytes that are not valid MQTT 3.1.1 print the error code,
the spec rule and the byte offset where decoding stopped, and exit with status 1.

 -f : read raw bytes from a file instead of hex.
 --help : print this help.
`;
