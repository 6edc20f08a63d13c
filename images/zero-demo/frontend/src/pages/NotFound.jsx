import { Link, useLocation } from 'react-router-dom';

export default function NotFound() {
  const location = useLocation();
  return (
    <section className="card">
      <h1>Not found</h1>
      <p>No page at <code>{location.pathname}</code>.</p>
      <p><Link to="/">Back home</Link></p>
    </section>
  );
}
