import React, { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";

function App() {
  const [message, setMessage] = useState("...");
  useEffect(() => {
    fetch("/api/hello").then((r) => r.json()).then((body) => setMessage(body.message));
  }, []);
  return <h1>{message}</h1>;
}

createRoot(document.getElementById("root")).render(<App />);
