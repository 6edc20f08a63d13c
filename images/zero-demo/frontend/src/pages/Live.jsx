import { useEffect, useRef, useState } from 'react';
import { Client } from '@stomp/stompjs';
import { STOMP_ECHO, STOMP_ECHOES, STOMP_TICKS, stompUrl } from '../config';

const KEEP = 8; // messages shown

/** Live messages from the back end over its STOMP websocket: ticks, and echoes of what you send. */
export default function Live() {
  const client = useRef(null);
  const [status, setStatus] = useState('connecting');
  const [messages, setMessages] = useState([]);
  const [draft, setDraft] = useState('');

  useEffect(() => {
    const add = (kind) => (frame) => {
      let text = frame.body;
      try {
        const body = JSON.parse(frame.body);
        text = kind === 'tick' ? `tick ${body.tick} from ${body.app}` : `echo: ${body.echo}`;
      } catch (e) {
        // not JSON: show it as it came
      }
      setMessages((list) => [{ id: frame.headers['message-id'], kind, text }, ...list].slice(0, KEEP));
    };
    const stomp = new Client({
      brokerURL: stompUrl(),
      reconnectDelay: 5000,
      heartbeatIncoming: 10000,
      heartbeatOutgoing: 10000,
      onConnect: () => {
        setStatus('live');
        stomp.subscribe(STOMP_TICKS, add('tick'));
        stomp.subscribe(STOMP_ECHOES, add('echo'));
      },
      onWebSocketClose: () => setStatus('reconnecting'),
      onStompError: (frame) => setStatus(`error: ${frame.headers.message || 'STOMP error'}`),
    });
    client.current = stomp;
    stomp.activate();
    return () => {
      client.current = null;
      stomp.deactivate();
    };
  }, []);

  const send = (event) => {
    event.preventDefault();
    const text = draft.trim();
    if (!text || !client.current || !client.current.connected) return;
    client.current.publish({ destination: STOMP_ECHO, body: text });
    setDraft('');
  };

  return (
    <section className="card" id="live">
      <h2>
        Live <span id="live-status" className={`status ${status === 'live' ? 'ok' : 'off'}`}>{status}</span>
      </h2>
      <p className="hint">STOMP over the back end&apos;s websocket: a tick every few seconds, and an echo of what you send.</p>
      <form onSubmit={send} className="row">
        <label htmlFor="echo">Message</label>
        <input id="echo" value={draft} onChange={(e) => setDraft(e.target.value)} maxLength={200} />
        <button type="submit" disabled={status !== 'live'}>Send</button>
      </form>
      <ul id="live-messages" className="messages">
        {messages.map((m) => (
          <li key={m.id} className={m.kind}>{m.text}</li>
        ))}
      </ul>
    </section>
  );
}
