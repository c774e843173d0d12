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
  proxy    sit between a client and a broker: print every packet, flag broken rules
  check    run a conformance suite against a broker and print a report card

Run "mqtt311 <command> --help" for the options of a command.
`;

const connectionOptions = (command: 'pub' | 'sub') => ` -h : host to connect to (default localhost).
 -p : port to connect to (default 1883, or 8883 with TLS).
 -L : URL mqtt(s)://[user[:password]@]host[:port]/topic instead of -h -p -u -P -t.
 -i : client id (default mqtt311-${command}-<pid>; "" lets the server choose one).
 -c : persistent session (CleanSession 0); needs -i.
 -k : keep alive in seconds, 0 to 65535 (default 60; 0 turns it off).
 -u : user name.
 -P : password (needs -u).
 -q : QoS 0, 1 or 2 (default 0).
 -d : print the packets sent and received.
 -V : protocol version; only mqttv311 is supported.
 --will-topic   : topic of the will message the server sends if this client vanishes.
 --will-payload : payload of the will (default empty).
 --will-qos     : QoS of the will (default 0).
 --will-retain  : retain the will.
 --cafile   : CA certificate (PEM) to verify the server with; turns TLS on.
 --cert     : client certificate (PEM) for TLS client authentication; needs --key.
 --key      : private key (PEM) of --cert.
 --insecure : do not verify the server's certificate or host name.
 --help     : print this help.`;

/** `mqtt311 pub --help`. */
export const PUB_HELP = `mqtt311 pub: publish one message, or one per line of stdin, and exit.

Usage: mqtt311 pub {[-h host] [-p port] [-u user [-P password]] -t topic | -L URL}
                   {-m message | -f file | -s | -l | -n}
                   [-q qos] [-r] [-i id] [-c] [-k keepalive] [-d] [-V mqttv311]
                   [--will-topic topic [--will-payload payload] [--will-qos qos] [--will-retain]]
                   [--cafile file [--cert file --key file] [--insecure]]
       mqtt311 pub --help

 -t : topic to publish to (no + or # wildcards).
 -m : message payload.
 -f : send the contents of a file as the message.
 -s : send all of stdin as one message.
 -l : send each line of stdin as a separate message.
 -n : send an empty (zero length) message.
 -r : retain the message (with -n: clear the retained message).
${connectionOptions('pub')}

Exit status: 0 sent, 1 usage or connection error, 1-5 the CONNACK return code if refused.
`;

/** `mqtt311 sub --help`. */
export const SUB_HELP = `mqtt311 sub: subscribe to topic filters and print each message on its own line.

Usage: mqtt311 sub {[-h host] [-p port] [-u user [-P password]] -t filter... | -L URL [-t filter...]}
                   [-q qos] [-v] [-C count] [-W seconds] [-i id] [-c] [-k keepalive] [-d] [-V mqttv311]
                   [--will-topic topic [--will-payload payload] [--will-qos qos] [--will-retain]]
                   [--cafile file [--cert file --key file] [--insecure]]
       mqtt311 sub --help

 -t : topic filter to subscribe to, + and # allowed; repeat for more.
 -v : print "topic payload" instead of the payload alone.
 -C : exit after this many messages.
 -W : exit after this many seconds (exit status 27 when it runs out).
${connectionOptions('sub')}

Exit status: 0 done (Ctrl-C or -C reached), 1 usage or connection error or every filter refused,
1-5 the CONNACK return code if refused, 27 when -W runs out.
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
  password_file users.txt    lines "name:password"
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
  log_packets true
  ws_port 8080
Relative paths are relative to the config file.
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
