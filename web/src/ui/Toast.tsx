import { useEffect, useState } from 'react';
import { Frame, Toast } from '@shopify/polaris';

type Msg = { id: number; text: string; error: boolean };
let listeners: ((m: Msg) => void)[] = [];
let seq = 0;

// notify shows a short message: App Bridge's toast inside the admin, a
// Polaris toast outside it.
export function notify(text: string, error = false) {
  if (window.shopify?.toast && window.top !== window.self) {
    window.shopify.toast.show(text, { isError: error });
    return;
  }
  const m = { id: ++seq, text, error };
  listeners.forEach((l) => l(m));
}

export function Toasts() {
  const [msgs, setMsgs] = useState<Msg[]>([]);
  useEffect(() => {
    const l = (m: Msg) => setMsgs((xs) => [...xs, m]);
    listeners.push(l);
    return () => {
      listeners = listeners.filter((x) => x !== l);
    };
  }, []);
  if (msgs.length === 0) return null;
  return (
    <div style={{ position: 'fixed', bottom: 0, left: 0, right: 0, height: 0 }}>
      <Frame>
        {msgs.map((m) => (
          <Toast key={m.id} content={m.text} error={m.error} onDismiss={() => setMsgs((xs) => xs.filter((x) => x.id !== m.id))} />
        ))}
      </Frame>
    </div>
  );
}
