//! A restarted node finds its way back to the peers it knew, with no
//! bootstrap node and no dial from anyone.

use hearth_node::Event;
use hearth_tests::{address, init_tracing, start, test_node, unique_network, wait_for, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_redials_the_peers_it_knew() {
    init_tracing();
    let network = unique_network();
    let dir = tempfile::tempdir().unwrap();
    let friend = start(&network).await;
    let friend_id = friend.peer_id();

    let first = test_node(&network)
        .data_dir(dir.path())
        .start()
        .await
        .unwrap();
    let mut first_events = first.events();
    first.dial(address(&friend).await).await.unwrap();
    // identify tells `first` where `friend` listens; that is what it keeps.
    wait_for(&mut first_events, "the friend's identify", |e| match e {
        Event::PeerIdentified { peer, agent, .. } if *peer == friend_id => {
            assert!(agent.starts_with("hearth/"), "{agent}");
            Some(())
        }
        _ => None,
    })
    .await;
    first.shutdown().await.unwrap();

    // Same data directory, no bootstrap, no dial.
    let again = test_node(&network)
        .data_dir(dir.path())
        .start()
        .await
        .unwrap();
    let mut events = again.events();
    wait_until(&mut events, "the restarted node to reconnect", || async {
        again
            .peers()
            .await
            .map(|peers| peers.iter().any(|p| p.peer == friend_id))
            .unwrap_or(false)
    })
    .await;
    again.shutdown().await.unwrap();
}
