// The page's logic: connect to an MQTT broker over WebSocket, subscribe, show what arrives,
// publish what the form says. `./mqtt311.js` is the browser bundle (`npm run build:browser`
// writes it to dist/browser/; serve.ts serves it next to this file).
//
// Query parameters: ?broker=ws://127.0.0.1:8080&topic=demo/browser (the filter subscribed to;
// the form publishes to the same topic unless it has a wildcard).
import { connect } from './mqtt311.js';

const params = new URLSearchParams(location.search);
const brokerUrl = params.get('broker') ?? 'ws://127.0.0.1:8080';
const filter = params.get('topic') ?? 'mqtt311/browser/demo';

const $ = (id) => document.getElementById(id);
const setStatus = (text) => {
  $('status').textContent = text;
};
$('broker').textContent = brokerUrl;
$('filter').textContent = filter;
$('topic').value = filter.includes('#') || filter.includes('+') ? 'mqtt311/browser/demo' : filter;

/** Appends one received message to the list, as "topic payload". */
function show(topic, payload) {
  const li = document.createElement('li');
  li.textContent = `${topic} ${new TextDecoder().decode(payload)}`;
  $('received').append(li);
}

async function main() {
  setStatus('connecting');
  // The WebSocket offers the "mqtt" subprotocol and carries binary frames only (spec chapter 6).
  const client = await connect(brokerUrl, { keepAlive: 30, reconnect: false });
  setStatus('connected');
  client.on('message', (topic, payload) => show(topic, payload));
  client.on('close', () => setStatus('closed'));
  client.on('error', (err) => setStatus(`error: ${err.code ?? err.message}`));

  const granted = await client.subscribe(filter, { qos: 1 });
  setStatus(`subscribed (granted QoS ${granted.map((g) => g.qos ?? g.returnCode).join(', ')})`);

  $('send').disabled = false;
  $('publish').addEventListener('submit', async (event) => {
    event.preventDefault();
    const topic = $('topic').value;
    const payload = $('payload').value;
    try {
      await client.publish(topic, payload, { qos: 1 }); // resolves on PUBACK
      setStatus(`published to ${topic}`);
    } catch (err) {
      setStatus(`error: ${err.code ?? err.message}`);
    }
  });
  // Lets a test (or the console) reach the client.
  window.mqttClient = client;
}

main().catch((err) => setStatus(`error: ${err.code ?? err.message}`));
