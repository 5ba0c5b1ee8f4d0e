//! RS256 signing keys: created on first start, kept in a key file (0600) so tokens survive
//! restarts, published as a JWKS, rotated on request while old keys stay verifiable.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, RSAKeyParameters, RSAKeyType,
    ThumbprintHash,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, TokenData, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {message}")]
    File { path: String, message: String },
    #[error("could not generate an RSA key")]
    Generate,
    #[error("could not sign a token: {0}")]
    Sign(jsonwebtoken::errors::Error),
}

/// One RS256 key pair with its public JWK. Public so test servers can sign tokens the same way.
pub struct SigningKey {
    kid: String,
    private_key_pem: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    /// Oldest first; the last one signs.
    keys: Vec<StoredKey>,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    private_key_pem: String,
}

pub struct SigningKeys {
    keys: RwLock<Vec<SigningKey>>,
    file: Option<PathBuf>,
}

impl SigningKeys {
    /// Loads the keys from `file`, creating the file with a fresh key when it does not exist.
    /// Without a file the keys live only in memory.
    pub fn load_or_create(file: Option<&Path>) -> Result<Self, KeyError> {
        let keys = match file {
            Some(path) if path.exists() => read_key_file(path)?,
            _ => vec![SigningKey::generate()?],
        };
        let store = Self {
            keys: RwLock::new(keys),
            file: file.map(Path::to_path_buf),
        };
        if let Some(path) = file
            && !path.exists()
        {
            store.persist()?;
        }
        Ok(store)
    }

    pub fn jwks(&self) -> JwkSet {
        let keys = self.read();
        JwkSet {
            keys: keys.iter().map(|key| key.jwk.clone()).collect(),
        }
    }

    pub fn current_kid(&self) -> String {
        self.read().last().map(|key| key.kid.clone()).unwrap_or_default()
    }

    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, KeyError> {
        let keys = self.read();
        let Some(key) = keys.last() else {
            return Err(KeyError::Generate);
        };
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some(typ.to_string());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(KeyError::Sign)
    }

    /// Verifies one of our own tokens: RS256 only, key chosen by `kid` among ours.
    pub fn verify<T: serde::de::DeserializeOwned>(&self, token: &str, validation: &Validation) -> Option<TokenData<T>> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::RS256 || validation.algorithms != [Algorithm::RS256] {
            return None;
        }
        let keys = self.read();
        let key = keys.iter().find(|key| Some(&key.kid) == header.kid.as_ref())?;
        jsonwebtoken::decode(token, &key.decoding, validation).ok()
    }

    /// Adds a new key and makes it current; older keys stay in the JWKS. Returns the new kid.
    pub fn rotate(&self) -> Result<String, KeyError> {
        let key = SigningKey::generate()?;
        let kid = key.kid.clone();
        self.write().push(key);
        self.persist()?;
        Ok(kid)
    }

    /// Drops every key but the current one.
    #[cfg(feature = "testing")]
    pub fn retire_old(&self) -> Result<(), KeyError> {
        {
            let mut keys = self.write();
            let keep = keys.len().saturating_sub(1);
            keys.drain(..keep);
        }
        self.persist()
    }

    fn persist(&self) -> Result<(), KeyError> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let file = KeyFile {
            keys: self
                .read()
                .iter()
                .map(|key| StoredKey {
                    kid: key.kid.clone(),
                    private_key_pem: key.private_key_pem.clone(),
                })
                .collect(),
        };
        let error = |message: String| KeyError::File {
            path: path.display().to_string(),
            message,
        };
        let text = serde_json::to_string_pretty(&file).map_err(|e| error(e.to_string()))?;
        write_private_file(path, text.as_bytes()).map_err(|e| error(e.to_string()))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<SigningKey>> {
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<SigningKey>> {
        self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SigningKey {
    /// A fresh 2048-bit RSA key; its `kid` is the JWK thumbprint.
    pub fn generate() -> Result<Self, KeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        let der = pair.as_der().map_err(|_| KeyError::Generate)?;
        let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
        Self::from_pem(None, pem).map_err(|_| KeyError::Generate)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (with `kid`, `alg: RS256`, `use: sig`).
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The public key in PEM (SubjectPublicKeyInfo), e.g. to forge an HS256 token with it.
    pub fn public_key_pem(&self) -> String {
        let Ok(parsed) = pem::parse(&self.private_key_pem) else {
            return String::new();
        };
        let Ok(pair) = KeyPair::from_pkcs8(parsed.contents()) else {
            return String::new();
        };
        match pair.public_key().as_der() {
            Ok(der) => pem::encode(&pem::Pem::new("PUBLIC KEY", der.as_ref().to_vec())),
            Err(_) => String::new(),
        }
    }

    /// Signs `claims` with this key under exactly the given header (tests forge tokens with it).
    #[cfg(feature = "testing")]
    pub fn sign_with<T: Serialize>(&self, header: &Header, claims: &T) -> Result<String, KeyError> {
        jsonwebtoken::encode(header, claims, &self.encoding).map_err(KeyError::Sign)
    }

    fn from_pem(kid: Option<String>, private_key_pem: String) -> Result<Self, String> {
        let parsed = pem::parse(&private_key_pem).map_err(|e| e.to_string())?;
        let pair = KeyPair::from_pkcs8(parsed.contents()).map_err(|e| e.to_string())?;
        let public = pair.public_key();
        let mut jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::RS256),
                ..Default::default()
            },
            algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
                key_type: RSAKeyType::RSA,
                n: URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                e: URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            }),
        };
        let kid = kid.unwrap_or_else(|| jwk.thumbprint(ThumbprintHash::SHA256));
        jwk.common.key_id = Some(kid.clone());
        let encoding = EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).map_err(|e| e.to_string())?;
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
        Ok(Self {
            kid,
            private_key_pem,
            encoding,
            decoding,
            jwk,
        })
    }
}

fn read_key_file(path: &Path) -> Result<Vec<SigningKey>, KeyError> {
    let error = |message: String| KeyError::File {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let file: KeyFile = serde_json::from_str(&text).map_err(|e| error(e.to_string()))?;
    if file.keys.is_empty() {
        return Err(error("holds no keys".into()));
    }
    file.keys
        .into_iter()
        .enumerate()
        .map(|(index, stored)| {
            SigningKey::from_pem(Some(stored.kid), stored.private_key_pem)
                .map_err(|message| error(format!("keys[{index}]: {message}")))
        })
        .collect()
}

/// Writes through a temporary file and a rename so a crash never leaves half a key file.
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let temporary = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary)?;
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}
