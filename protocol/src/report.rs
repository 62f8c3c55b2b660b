//! Sealed reports: a person tells the moderators they follow about a post,
//! and only those moderators can read it.
//!
//! A report is an envelope of kind [`Kind::Report`] signed by a fresh
//! throwaway key, never by the reporter's persona. Its body is readable by
//! every node, so each can judge it cheaply before relaying: channel, time,
//! proof of work, signature. What it says is sealed:
//!
//! ```text
//! body   = channel  created_ms:u64  ephemeral:[u8;32]
//!          slots:bytes(8 × 48)  sealed:bytes(640 + 16)  nonce:u64
//! header = "hearth/report/1" || varint(len) network || varint(len) channel
//!          || created_ms:u64 LE || ephemeral || signer
//! shared = X25519(ephemeral secret, moderator ed25519 key as Montgomery)
//! slot_k = SHA-256("hearth/report/1/slot" || shared || ephemeral || moderator Montgomery)
//! slot   = ChaCha20-Poly1305(slot_k, nonce 0, aad header, content key)
//! sealed = ChaCha20-Poly1305(content key, nonce 0, aad header, inner padded to 640)
//! inner  = post:[u8;32]  reason:string  reporter:[u8;32]  signature:bytes(64)
//! signed = "hearth/report/1/inner" || header-less fields: varint(len) network
//!          || varint(len) channel || created_ms:u64 LE || post || varint(len) reason
//! ```
//!
//! There are always [`REPORT_SLOTS`] slots; those no moderator uses hold
//! filler bytes that look like sealed keys, so a report does not tell how
//! many moderators it went to. The inner body is zero-padded to
//! [`REPORT_INNER_BYTES`], so every report of a channel has the same size
//! whatever its reason says. The reporter's persona signs the inner body:
//! a moderator can tell who reported (and slow down a persona that reports
//! everyone), nobody else can.
//!
//! Everything random (throwaway key, ephemeral key, content key, filler) is
//! passed in as [`ReportSecrets`]: this crate draws no randomness.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use curve25519_dalek::montgomery::MontgomeryPoint;
use ed25519_dalek::VerifyingKey;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

use crate::channel::{ChannelName, NetworkId};
use crate::envelope::{Kind, MessageId, RawEnvelope, decode_canonical, encode, seal};
use crate::error::{BuildError, ValidationError};
use crate::hash::{push_varint, sha256};
use crate::keys::{Keypair, PublicKey};
use crate::limits::{Limits, MAX_POW_DIFFICULTY};
use crate::pow::{WorkPrefix, default_iteration_cap};
use crate::text;

/// Domain tag of the report header (associated data of both seals).
pub const REPORT_TAG: &[u8] = b"hearth/report/1";
/// Domain tag of a slot key derivation.
pub const REPORT_SLOT_TAG: &[u8] = b"hearth/report/1/slot";
/// Domain tag of the reporter's signature over the inner body.
pub const REPORT_INNER_TAG: &[u8] = b"hearth/report/1/inner";
/// Domain tag of the filler of unused slots.
pub const REPORT_FILLER_TAG: &[u8] = b"hearth/report/1/filler";

/// Recipient slots in every report: the most moderators one report reaches.
pub const REPORT_SLOTS: usize = 8;
/// Bytes of one slot: a sealed 32-byte content key and its 16-byte tag.
pub const REPORT_SLOT_BYTES: usize = 48;
/// Bytes of the inner body after padding, before sealing.
pub const REPORT_INNER_BYTES: usize = 640;
/// Bytes of the sealed inner body: the padded inner body and its tag.
pub const REPORT_SEALED_BYTES: usize = REPORT_INNER_BYTES + 16;
/// Longest reason, in UTF-8 bytes.
pub const MAX_REPORT_REASON_BYTES: usize = 280;
/// Proof of work (leading zero bits) every report carries, so reports
/// cannot be flooded from free throwaway keys: about a million hashes.
pub const REPORT_POW_BITS: u8 = 20;

/// What a reporter says: which post, where, when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportDraft {
    /// The channel the post is in.
    pub channel: ChannelName,
    /// The reported post.
    pub post: MessageId,
    /// Why, one line.
    pub reason: String,
    /// When (ms since the Unix epoch).
    pub created_ms: u64,
}

/// The random inputs of one report. Every field must be fresh, secret
/// randomness: [`ReportSecrets::generate`] draws them.
#[derive(Clone)]
pub struct ReportSecrets {
    /// Seed of the throwaway key that signs the envelope.
    pub signer: [u8; 32],
    /// The X25519 ephemeral secret.
    pub ephemeral: [u8; 32],
    /// The key that seals the inner body.
    pub content_key: [u8; 32],
    /// Seed of the filler of unused slots.
    pub filler: [u8; 32],
}

impl ReportSecrets {
    /// Fresh secrets from a cryptographically secure RNG.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut draw = || {
            let mut out = [0u8; 32];
            rng.fill_bytes(&mut out);
            out
        };
        Self {
            signer: draw(),
            ephemeral: draw(),
            content_key: draw(),
            filler: draw(),
        }
    }
}

impl std::fmt::Debug for ReportSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReportSecrets(..)")
    }
}

/// A sealed report, ready to gossip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedReport {
    /// SHA-256 of `bytes`: the gossipsub message id.
    pub id: MessageId,
    /// The envelope.
    pub bytes: Vec<u8>,
}

/// The outer body on the wire. Field order is the wire order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ReportWire {
    channel: ChannelName,
    created_ms: u64,
    ephemeral: [u8; 32],
    slots: Vec<u8>,
    sealed: Vec<u8>,
    nonce: u64,
}

/// The inner body before padding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct InnerWire {
    post: [u8; 32],
    reason: String,
    reporter: [u8; 32],
    signature: Vec<u8>,
}

/// Seals a report of `draft`, signed inside by `reporter` (the persona the
/// reporter uses in the channel), to `moderators` (at most
/// [`REPORT_SLOTS`]), with `pow_bits` of proof of work
/// ([`REPORT_POW_BITS`] on the wire; lower only in tests).
pub fn seal_report(
    draft: &ReportDraft,
    reporter: &Keypair,
    moderators: &[PublicKey],
    network: &NetworkId,
    secrets: &ReportSecrets,
    pow_bits: u8,
) -> Result<SealedReport, BuildError> {
    text::check_line("reason", &draft.reason, MAX_REPORT_REASON_BYTES)?;
    if moderators.is_empty() {
        return Err(BuildError::Field("a report needs at least one moderator"));
    }
    if moderators.len() > REPORT_SLOTS {
        return Err(BuildError::Field("a report reaches at most 8 moderators"));
    }
    let signer = Keypair::from_secret_bytes(secrets.signer);
    let ephemeral = MontgomeryPoint::mul_base_clamped(secrets.ephemeral).to_bytes();
    let header = header(
        network,
        &draft.channel,
        draft.created_ms,
        &ephemeral,
        &signer.public(),
    );

    let mut slots = Vec::with_capacity(REPORT_SLOTS * REPORT_SLOT_BYTES);
    for moderator in moderators {
        let point = montgomery(moderator).ok_or(BuildError::Field(
            "moderator key is not a valid ed25519 key",
        ))?;
        let shared = point.mul_clamped(secrets.ephemeral).to_bytes();
        if shared == [0; 32] {
            return Err(BuildError::Field("moderator key cannot receive reports"));
        }
        let key = slot_key(&shared, &ephemeral, &point.to_bytes());
        slots.extend(aead_seal(&key, &header, &secrets.content_key)?);
    }
    let mut counter = 0u32;
    while slots.len() < REPORT_SLOTS * REPORT_SLOT_BYTES {
        let index = counter.to_le_bytes();
        slots.extend_from_slice(&sha256(&[REPORT_FILLER_TAG, &secrets.filler, &index]));
        counter += 1;
    }
    slots.truncate(REPORT_SLOTS * REPORT_SLOT_BYTES);

    let signed = inner_message(network, draft);
    let inner = InnerWire {
        post: draft.post.0,
        reason: draft.reason.clone(),
        reporter: *reporter.public().as_bytes(),
        signature: reporter.sign(&signed).to_vec(),
    };
    let mut padded = encode(&inner)?;
    if padded.len() > REPORT_INNER_BYTES {
        return Err(BuildError::TooLarge {
            size: padded.len(),
            limit: REPORT_INNER_BYTES,
        });
    }
    padded.resize(REPORT_INNER_BYTES, 0);
    let sealed = aead_seal(&secrets.content_key, &header, &padded)?;

    let mut wire = ReportWire {
        channel: draft.channel.clone(),
        created_ms: draft.created_ms,
        ephemeral,
        slots,
        sealed,
        nonce: 0,
    };
    let bits = pow_bits.min(MAX_POW_DIFFICULTY);
    if bits > 0 {
        let fields = fields_without_nonce(&wire)?;
        let prefix = WorkPrefix::new(&signer.public(), network.as_str(), &fields);
        let cap = default_iteration_cap(bits);
        wire.nonce = prefix.stamp(bits, cap).ok_or(BuildError::WorkNotFound {
            difficulty: bits,
            iterations: cap,
        })?;
    }
    let body = encode(&wire)?;
    let bytes = seal(Kind::Report, network, &signer, &body);
    if bytes.len() > Kind::Report.max_bytes() {
        return Err(BuildError::TooLarge {
            size: bytes.len(),
            limit: Kind::Report.max_bytes(),
        });
    }
    Ok(SealedReport {
        id: MessageId::of(&bytes),
        bytes,
    })
}

/// Whether `bytes` claim to be a report (version and kind bytes only):
/// which of [`check_report`] and [`crate::validate::validate`] to run.
pub fn is_report(bytes: &[u8]) -> bool {
    bytes.get(1) == Some(&Kind::Report.code())
}

/// What a report's outer checks are made against.
#[derive(Debug, Clone, Copy)]
pub struct ReportContext<'a> {
    /// This node's network.
    pub network: &'a NetworkId,
    /// The current time in ms since the Unix epoch.
    pub now_ms: u64,
    /// The time window.
    pub limits: &'a Limits,
    /// The channel of the topic the report arrived on, if any.
    pub channel: Option<&'a ChannelName>,
    /// Proof of work the report must carry.
    pub pow_bits: u8,
}

impl<'a> ReportContext<'a> {
    /// A context asking [`REPORT_POW_BITS`] of proof of work and no channel.
    pub fn new(network: &'a NetworkId, now_ms: u64, limits: &'a Limits) -> Self {
        Self {
            network,
            now_ms,
            limits,
            channel: None,
            pow_bits: REPORT_POW_BITS,
        }
    }

    /// Reports must belong to `channel`.
    pub fn channel(mut self, channel: &'a ChannelName) -> Self {
        self.channel = Some(channel);
        self
    }

    /// Reports must carry `bits` of proof of work (capped at 32).
    pub fn pow_bits(mut self, bits: u8) -> Self {
        self.pow_bits = bits.min(MAX_POW_DIFFICULTY);
        self
    }
}

/// A report whose outer body passed every check any node can make: what a
/// relay sees. Only a moderator it was sealed to can [`open`](Self::open)
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportOuter {
    /// SHA-256 of the envelope.
    pub id: MessageId,
    /// The channel it is about.
    pub channel: ChannelName,
    /// When it was written.
    pub created_ms: u64,
    /// The throwaway key that signed the envelope.
    pub signer: PublicKey,
    network: NetworkId,
    ephemeral: [u8; 32],
    slots: Vec<u8>,
    sealed: Vec<u8>,
}

/// A report opened by a moderator it was sealed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The envelope's id.
    pub id: MessageId,
    /// The channel of the reported post.
    pub channel: ChannelName,
    /// When it was written.
    pub created_ms: u64,
    /// The reported post.
    pub post: MessageId,
    /// Why, in the reporter's words.
    pub reason: String,
    /// The persona that reported (its signature was checked).
    pub reporter: PublicKey,
}

/// Checks a received report's outer body, cheapest checks first and the
/// signature last: size, version, kind, structure, network, canonical
/// encoding, field sizes, channel, time window, proof of work, signature.
/// Deterministic; never panics.
pub fn check_report(bytes: &[u8], ctx: &ReportContext<'_>) -> Result<ReportOuter, ValidationError> {
    let raw = RawEnvelope::parse(bytes)?;
    if raw.kind != Kind::Report {
        return Err(ValidationError::Field("not a report"));
    }
    if raw.network != ctx.network.as_str() {
        return Err(ValidationError::WrongNetwork {
            expected: ctx.network.to_string(),
            found: raw.network.chars().take(64).collect(),
        });
    }
    let wire: ReportWire = decode_canonical(raw.body)?;
    if wire.slots.len() != REPORT_SLOTS * REPORT_SLOT_BYTES {
        return Err(ValidationError::Field("report slots are not 8 × 48 bytes"));
    }
    if wire.sealed.len() != REPORT_SEALED_BYTES {
        return Err(ValidationError::Field("sealed report is not 656 bytes"));
    }
    if let Some(expected) = ctx.channel
        && &wire.channel != expected
    {
        return Err(ValidationError::WrongChannel {
            expected: expected.to_string(),
            found: wire.channel.to_string(),
        });
    }
    let ahead = wire.created_ms.saturating_sub(ctx.now_ms);
    if ahead > ctx.limits.max_clock_skew_ms {
        return Err(ValidationError::FromFuture { ahead_ms: ahead });
    }
    let age = ctx.now_ms.saturating_sub(wire.created_ms);
    if age > ctx.limits.max_age_ms {
        return Err(ValidationError::TooOld { age_ms: age });
    }
    if ctx.pow_bits > 0 {
        let fields = fields_without_nonce(&wire)
            .map_err(|_| ValidationError::Malformed("body does not re-encode"))?;
        let found = WorkPrefix::new(&raw.signer, raw.network, &fields).bits(wire.nonce);
        if found < ctx.pow_bits {
            return Err(ValidationError::InsufficientWork {
                required: ctx.pow_bits,
                found,
            });
        }
    }
    raw.verify()?;
    Ok(ReportOuter {
        id: MessageId::of(bytes),
        channel: wire.channel,
        created_ms: wire.created_ms,
        signer: raw.signer,
        network: ctx.network.clone(),
        ephemeral: wire.ephemeral,
        slots: wire.slots,
        sealed: wire.sealed,
    })
}

impl ReportOuter {
    /// Opens the report with a moderator key: `Ok(None)` when it was not
    /// sealed to this key (the normal case for every other node), an error
    /// when a slot opened but the inside is malformed or its reporter's
    /// signature does not verify.
    pub fn open(&self, moderator: &Keypair) -> Result<Option<Report>, ValidationError> {
        let Some(point) = montgomery(&moderator.public()) else {
            return Ok(None);
        };
        let scalar = scalar_bytes(moderator);
        let shared = MontgomeryPoint(self.ephemeral)
            .mul_clamped(scalar)
            .to_bytes();
        if shared == [0; 32] {
            return Err(ValidationError::Field("report ephemeral key is degenerate"));
        }
        let header = header(
            &self.network,
            &self.channel,
            self.created_ms,
            &self.ephemeral,
            &self.signer,
        );
        let key = slot_key(&shared, &self.ephemeral, &point.to_bytes());
        let content_key = self
            .slots
            .chunks_exact(REPORT_SLOT_BYTES)
            .find_map(|slot| aead_open(&key, &header, slot))
            .and_then(|plain| <[u8; 32]>::try_from(plain.as_slice()).ok());
        let Some(content_key) = content_key else {
            return Ok(None);
        };
        let padded = aead_open(&content_key, &header, &self.sealed)
            .ok_or(ValidationError::Malformed("sealed report does not open"))?;
        let (inner, padding): (InnerWire, &[u8]) = postcard::take_from_bytes(&padded)
            .map_err(|_| ValidationError::Malformed("report inner body does not decode"))?;
        if padding.iter().any(|b| *b != 0) {
            return Err(ValidationError::Malformed("report padding is not zero"));
        }
        let again = encode(&inner)
            .map_err(|_| ValidationError::Malformed("report inner body does not re-encode"))?;
        if padded.get(..again.len()) != Some(again.as_slice()) {
            return Err(ValidationError::Malformed(
                "report inner body is not in canonical encoding",
            ));
        }
        text::check_line("reason", &inner.reason, MAX_REPORT_REASON_BYTES)?;
        let signature = <[u8; 64]>::try_from(inner.signature.as_slice())
            .map_err(|_| ValidationError::Malformed("reporter signature is not 64 bytes"))?;
        let draft = ReportDraft {
            channel: self.channel.clone(),
            post: MessageId(inner.post),
            reason: inner.reason,
            created_ms: self.created_ms,
        };
        let reporter = PublicKey(inner.reporter);
        if !reporter.verify(&inner_message(&self.network, &draft), &signature) {
            return Err(ValidationError::BadSignature);
        }
        Ok(Some(Report {
            id: self.id,
            channel: draft.channel,
            created_ms: draft.created_ms,
            post: draft.post,
            reason: draft.reason,
            reporter,
        }))
    }
}

/// The ed25519 public key as an X25519 (Montgomery) point, if it is one.
fn montgomery(key: &PublicKey) -> Option<MontgomeryPoint> {
    VerifyingKey::from_bytes(key.as_bytes())
        .ok()
        .map(|k| k.to_montgomery())
}

/// The X25519 secret of an ed25519 key: the first half of SHA-512 of its
/// seed, which X25519 clamps exactly as ed25519 does.
fn scalar_bytes(key: &Keypair) -> [u8; 32] {
    let digest = Sha512::digest(key.secret_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.get(..32).unwrap_or(&[0; 32]));
    out
}

fn header(
    network: &NetworkId,
    channel: &ChannelName,
    created_ms: u64,
    ephemeral: &[u8; 32],
    signer: &PublicKey,
) -> Vec<u8> {
    let mut out = REPORT_TAG.to_vec();
    push_varint(&mut out, network.as_str().len());
    out.extend_from_slice(network.as_str().as_bytes());
    push_varint(&mut out, channel.as_str().len());
    out.extend_from_slice(channel.as_str().as_bytes());
    out.extend_from_slice(&created_ms.to_le_bytes());
    out.extend_from_slice(ephemeral);
    out.extend_from_slice(signer.as_bytes());
    out
}

fn inner_message(network: &NetworkId, draft: &ReportDraft) -> Vec<u8> {
    let mut out = REPORT_INNER_TAG.to_vec();
    push_varint(&mut out, network.as_str().len());
    out.extend_from_slice(network.as_str().as_bytes());
    push_varint(&mut out, draft.channel.as_str().len());
    out.extend_from_slice(draft.channel.as_str().as_bytes());
    out.extend_from_slice(&draft.created_ms.to_le_bytes());
    out.extend_from_slice(draft.post.as_bytes());
    push_varint(&mut out, draft.reason.len());
    out.extend_from_slice(draft.reason.as_bytes());
    out
}

fn slot_key(shared: &[u8; 32], ephemeral: &[u8; 32], recipient: &[u8; 32]) -> [u8; 32] {
    sha256(&[REPORT_SLOT_TAG, shared, ephemeral, recipient])
}

/// The body's encoding up to the nonce: what the proof of work covers.
/// The nonce is the last field, so this is the encoding with the nonce's
/// varint cut off.
fn fields_without_nonce(wire: &ReportWire) -> Result<Vec<u8>, BuildError> {
    let mut zero = wire.clone();
    zero.nonce = 0;
    let mut bytes = encode(&zero)?;
    // A zero nonce is one varint byte.
    bytes.pop();
    Ok(bytes)
}

/// Every key here is used for exactly one message, so the nonce is zero.
fn aead_seal(key: &[u8; 32], aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, BuildError> {
    ChaCha20Poly1305::new(Key::from_slice(key))
        .encrypt(&Nonce::default(), Payload { msg: plain, aad })
        .map_err(|_| BuildError::Encode("report sealing failed".into()))
}

fn aead_open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    ChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt(&Nonce::default(), Payload { msg: sealed, aad })
        .ok()
}

#[cfg(test)]
mod tests;
