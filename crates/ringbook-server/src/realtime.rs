//! Dispatch of WebSocket client frames to the product modules, and the connect/disconnect hooks
//! (presence uses them). Kept apart from `ws` so the transport knows nothing of the products.

use crate::ws::ConnContext;
use ringbook_proto::ws::{ClientFrame, ServerFrame};

pub async fn on_connect(ctx: &ConnContext) {
    crate::presence::on_connect(ctx).await;
}

pub async fn on_disconnect(ctx: &ConnContext) {
    crate::presence::on_disconnect(ctx).await;
}

pub async fn dispatch(ctx: &ConnContext, frame: ClientFrame) {
    match frame {
        ClientFrame::Ping { nonce } => ctx.reply(ServerFrame::Pong { nonce }),
        ClientFrame::Send {
            client_msg_id,
            to,
            body,
            kind,
            sent_at,
        } => crate::messaging::frames::send(ctx, client_msg_id, to, body, kind, sent_at).await,
        ClientFrame::Sync { after_seq } => crate::messaging::frames::sync(ctx, after_seq).await,
        ClientFrame::Delivered { ids } => crate::messaging::frames::receipts(ctx, ids, false).await,
        ClientFrame::Read { ids } => crate::messaging::frames::receipts(ctx, ids, true).await,
    }
}
