//! Calls to a cloud API gathered into one: requests that arrive within a short window (100 ms
//! without a new one, 1 s at most, as Karpenter batches its EC2 calls) go out as one call, and
//! each caller gets its own answer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// When a batch goes out.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// After this long without a new request...
    pub idle: Duration,
    /// ... or this long after its first one ...
    pub max: Duration,
    /// ... or once it holds this many.
    pub size: usize,
}

impl Default for Window {
    fn default() -> Self {
        Window { idle: Duration::from_millis(100), max: Duration::from_secs(1), size: 500 }
    }
}

type Call<K, V> = Arc<dyn Fn(Vec<K>) -> Pin<Box<dyn Future<Output = Vec<V>> + Send>> + Send + Sync>;

/// Gathers requests `K` into one call that answers each with a `V` (in the requests' order).
pub struct Batcher<K, V> {
    tx: mpsc::UnboundedSender<(K, oneshot::Sender<V>)>,
}

impl<K: Send + 'static, V: Send + 'static> Batcher<K, V> {
    /// A batcher that runs `call` on each batch. `call` must answer every request of the batch,
    /// in order; a missing answer is the caller's [`Gone`].
    pub fn new<F, Fut>(window: Window, call: F) -> Batcher<K, V>
    where
        F: Fn(Vec<K>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<V>> + Send + 'static,
    {
        let call: Call<K, V> = Arc::new(move |keys| Box::pin(call(keys)));
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(gather(window, rx, call));
        Batcher { tx }
    }

    /// `key`'s answer, once its batch has been called.
    pub async fn ask(&self, key: K) -> Result<V, Gone> {
        let (tx, rx) = oneshot::channel();
        self.tx.send((key, tx)).map_err(|_| Gone)?;
        rx.await.map_err(|_| Gone)
    }
}

/// The batcher stopped (the runtime is shutting down) or its call gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("the batched call gave no answer")]
pub struct Gone;

async fn gather<K: Send + 'static, V: Send + 'static>(
    window: Window,
    mut rx: mpsc::UnboundedReceiver<(K, oneshot::Sender<V>)>,
    call: Call<K, V>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + window.max;
        while batch.len() < window.size {
            let wait = window.idle.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
            match tokio::time::timeout(wait, rx.recv()).await {
                Ok(Some(next)) => batch.push(next),
                Ok(None) | Err(_) => break,
            }
        }
        let (keys, replies): (Vec<K>, Vec<oneshot::Sender<V>>) = batch.into_iter().unzip();
        let call = call.clone();
        // The next batch gathers while this one is out.
        tokio::spawn(async move {
            for (reply, answer) in replies.into_iter().zip(call(keys).await) {
                let _ = reply.send(answer);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test(start_paused = true)]
    async fn requests_within_the_window_go_out_as_one_call() {
        let calls: Arc<Mutex<Vec<Vec<u32>>>> = Arc::default();
        let seen = calls.clone();
        let batcher = Arc::new(Batcher::new(Window::default(), move |keys: Vec<u32>| {
            seen.lock().unwrap().push(keys.clone());
            async move { keys.into_iter().map(|k| k * 10).collect() }
        }));
        let mut asks = Vec::new();
        for k in 0..5 {
            let b = batcher.clone();
            asks.push(tokio::spawn(async move { b.ask(k).await }));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (k, ask) in asks.into_iter().enumerate() {
            assert_eq!(ask.await.unwrap(), Ok(k as u32 * 10));
        }
        // A request after the window closed starts a new batch.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(batcher.ask(7).await, Ok(70));
        assert_eq!(*calls.lock().unwrap(), vec![vec![0, 1, 2, 3, 4], vec![7]]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_stream_is_cut_at_the_maximum_wait_and_size() {
        let calls: Arc<Mutex<Vec<usize>>> = Arc::default();
        let seen = calls.clone();
        let window = Window { idle: Duration::from_millis(100), max: Duration::from_secs(1), size: 3 };
        let batcher = Arc::new(Batcher::new(window, move |keys: Vec<u32>| {
            seen.lock().unwrap().push(keys.len());
            async move { keys }
        }));
        let asks: Vec<_> = (0..7)
            .map(|k| {
                let b = batcher.clone();
                tokio::spawn(async move { b.ask(k).await })
            })
            .collect();
        for ask in asks {
            ask.await.unwrap().unwrap();
        }
        assert_eq!(*calls.lock().unwrap(), vec![3, 3, 1]);
    }

    #[tokio::test]
    async fn a_call_that_answers_fewer_leaves_the_rest_gone() {
        let batcher = Batcher::new(Window::default(), |_keys: Vec<u32>| async { Vec::<u32>::new() });
        assert_eq!(batcher.ask(1).await, Err(Gone));
    }
}
