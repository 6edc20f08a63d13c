import { useState } from 'react';
import { useNavigate } from 'react-router-dom';

/** A login page at /<Z_ROUTE>/login/index, as in a Zero front end. Demo only: no password check. */
export default function Login() {
  const navigate = useNavigate();
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');

  const submit = (event) => {
    event.preventDefault();
    const name = user.trim();
    navigate(name ? `/?name=${encodeURIComponent(name)}` : '/');
  };

  return (
    <section className="card" id="login">
      <h1>Login</h1>
      <p className="hint">Demo only: any user name signs you in; the password is not sent anywhere.</p>
      <form onSubmit={submit} className="stack">
        <label htmlFor="user">User</label>
        <input id="user" autoComplete="username" value={user} onChange={(e) => setUser(e.target.value)} />
        <label htmlFor="password">Password</label>
        <input id="password" type="password" autoComplete="current-password" value={password}
          onChange={(e) => setPassword(e.target.value)} />
        <button type="submit">Sign in</button>
      </form>
    </section>
  );
}
