import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { apiUrl } from '../config';
import Live from './Live';

export default function Home() {
  const [params, setParams] = useSearchParams();
  const name = params.get('name') || 'Zero';
  const [draft, setDraft] = useState(name);
  const [state, setState] = useState({ status: 'loading', message: '' });

  useEffect(() => {
    setDraft(name);
    const controller = new AbortController();
    setState({ status: 'loading', message: '' });
    fetch(apiUrl(`/api/greeting?name=${encodeURIComponent(name)}`), {
      headers: { Accept: 'application/json' },
      signal: controller.signal,
    })
      .then((res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return res.json();
      })
      .then((body) => setState({ status: 'ok', message: body.message }))
      .catch((err) => {
        if (err.name !== 'AbortError') setState({ status: 'error', message: err.message });
      });
    return () => controller.abort();
  }, [name]);

  const submit = (event) => {
    event.preventDefault();
    const next = draft.trim();
    setParams(next ? { name: next } : {});
  };

  return (
    <>
      <section className="card">
        <h1>Greeting</h1>
        <p id="greeting" className={`greeting ${state.status}`} aria-live="polite">
          {state.status === 'loading' && 'Loading…'}
          {state.status === 'ok' && state.message}
          {state.status === 'error' && `The back end did not answer (${state.message}).`}
        </p>
        <form onSubmit={submit} className="row">
          <label htmlFor="name">Name</label>
          <input id="name" value={draft} onChange={(e) => setDraft(e.target.value)} maxLength={100} />
          <button type="submit">Greet</button>
        </form>
      </section>
      <Live />
    </>
  );
}
