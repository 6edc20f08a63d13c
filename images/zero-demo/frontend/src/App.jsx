import { Link, Route, Routes } from 'react-router-dom';
import { APP, LOGIN_PATH } from './config';
import Home from './pages/Home';
import Login from './pages/Login';
import NotFound from './pages/NotFound';

export default function App() {
  return (
    <div className="shell">
      <header className="bar">
        <Link to="/" className="brand">Zero Demo</Link>
        <span className="app-name">{APP}</span>
        <nav>
          <Link to="/">Home</Link>
          <Link to={LOGIN_PATH}>Login</Link>
        </nav>
      </header>
      <main>
        <Routes>
          <Route path="/" element={<Home />} />
          <Route path={LOGIN_PATH} element={<Login />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </div>
  );
}
