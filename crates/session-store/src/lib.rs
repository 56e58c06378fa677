//! Keybench's one storage abstraction: small items, grouped in scopes.
//!
//! A [`Scope`] is one owner's namespace of one [`Kind`]: a session's items
//! (`sessions/<session id>/…`), a bound challenge (`challenges/<handle>/…`),
//! a user account's credentials (`accounts/<account id>/…`). Every
//! [`Storage`] call names its scope, and names ([`Kind`], [`OwnerId`],
//! [`ItemName`]) are validated when they are built, before any backend is
//! touched: no path separators, no leading dots, no `..`, a fixed alphabet
//! and a length limit. So no scope can read or write another's items.
//!
//! Backends:
//! - [`EmbeddedStore`]: one redb database file; writes from concurrent
//!   callers share one durable commit (group commit). The server's default.
//! - [`LocalStore`]: a directory, one subdirectory per owner; writes via a
//!   temporary file, fsync and rename (never torn), modes 0700/0600;
//!   conditional create by hard link (atomic across processes).
//! - [`ObjectStorage`]: GCS or S3 via `object_store`, with retries, a call
//!   deadline and conditional PUT for [`Storage::create`].
//! - [`FallbackStore`]: a remote store that visibly falls back to a local
//!   one when the remote is down, keeping every scope on one backend.
//!
//! # Storing relying-party credentials
//!
//! The relying-party crate stores credentials through the same trait:
//!
//! ```
//! use session_store::{ItemName, Kind, LocalStore, OwnerId, Scope, Storage, Created};
//! # let dir = tempfile::tempdir().unwrap();
//! let store = LocalStore::open(dir.path()).unwrap();
//! // The account id is the base64url WebAuthn user handle (validated here).
//! let account = Scope::new(Kind::accounts(), OwnerId::new("dXNlci1oYW5kbGU").unwrap());
//! // One item per credential, named by the base64url credential id (at most
//! // 128 characters; hash longer ids), created only if new so a credential
//! // id registered twice is refused atomically.
//! let item = ItemName::new("cred-AAECAwQ").unwrap();
//! assert_eq!(store.create(&account, &item, b"{\"publicKey\":\"...\"}").unwrap(), Created::Created);
//! assert_eq!(store.list(&account).unwrap().len(), 1);
//! ```
//!
//! Sign counters are updated with [`Storage::compare_and_swap`] (so two
//! logins from one read cannot both win, and a deleted credential is not
//! re-created); a user
//! name → account id index lives in its own kind (for example
//! `Kind::new("usernames")`), each item written with [`Storage::create`] so two
//! registrations of one name cannot both win.

#![forbid(unsafe_code)]

pub mod embedded;
pub mod fallback;
pub mod local;
pub mod name;
pub mod object;
pub mod storage;

pub use embedded::{EmbeddedOptions, EmbeddedStore};
pub use fallback::FallbackStore;
pub use local::{LocalOptions, LocalStore};
pub use name::{ItemName, Kind, MAX_NAME_LEN, NameError, OwnerId, Scope};
pub use object::{BucketProbe, ObjectStorage, ObjectStoreOptions, RemoteConfig};
pub use storage::{
    BackendState, BackendStatus, BatchOutcome, BatchRefusal, BatchWrite, Created,
    DEFAULT_MAX_ITEM_BYTES, ItemMeta, Storage, StoreError, Swapped, is_out_of_space,
};
