//! `Caller<P>`: the extractor of an authenticated caller holding at least one role of policy
//! `P`, generic over a service's role set.
//!
//! A service implements [`Authenticate`] on its state (how a request becomes an identity, and
//! which roles an identity holds) and declares its policies with [`policies!`](crate::policies);
//! handlers then take `Caller<roles::Write>` and the check runs before their bodies.

use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use skep_http::ApiError;

/// How a service turns a request into an identity. Implemented by the service's state type
/// (registered as `web::Data<Self>`).
pub trait Authenticate: Sized + 'static {
    /// Who is calling.
    type Identity: 'static;
    /// The service's role enum.
    type Role: Copy + 'static;

    /// Establishes the identity (520 before migration, 401, 403 for locked accounts or a
    /// failed CSRF check).
    fn authenticate(
        &self,
        request: &HttpRequest,
    ) -> impl Future<Output = Result<Self::Identity, ApiError>>;

    /// True when `identity` holds at least one of `roles`.
    fn holds_any(identity: &Self::Identity, roles: &[Self::Role]) -> bool;

    /// The 403 answered when it holds none.
    fn insufficient_rights() -> ApiError;
}

/// A role requirement: the caller must hold at least one of `ANY_OF` (empty: any caller).
pub trait Policy: 'static {
    /// The service whose roles these are.
    type Service: Authenticate;
    /// The accepted roles.
    const ANY_OF: &'static [<Self::Service as Authenticate>::Role];
}

/// An authenticated caller that passed policy `P`; dereferences to the service's identity.
pub struct Caller<P: Policy> {
    identity: <P::Service as Authenticate>::Identity,
    policy: PhantomData<P>,
}

impl<P: Policy> Caller<P> {
    /// The caller's identity.
    pub fn identity(&self) -> &<P::Service as Authenticate>::Identity {
        &self.identity
    }

    /// Consumes the extractor, keeping the identity.
    pub fn into_identity(self) -> <P::Service as Authenticate>::Identity {
        self.identity
    }
}

impl<P: Policy> std::fmt::Debug for Caller<P>
where
    <P::Service as Authenticate>::Identity: std::fmt::Debug,
{
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_tuple("Caller")
            .field(&self.identity)
            .finish()
    }
}

impl<P: Policy> Clone for Caller<P>
where
    <P::Service as Authenticate>::Identity: Clone,
{
    fn clone(&self) -> Self {
        Caller {
            identity: self.identity.clone(),
            policy: PhantomData,
        }
    }
}

impl<P: Policy> Deref for Caller<P> {
    type Target = <P::Service as Authenticate>::Identity;

    fn deref(&self) -> &Self::Target {
        &self.identity
    }
}

impl<P: Policy> FromRequest for Caller<P> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let state = request
                .app_data::<web::Data<P::Service>>()
                .cloned()
                .ok_or_else(|| ApiError::internal(&"service state missing from app data"))?;
            let identity = state.authenticate(&request).await?;
            if !P::ANY_OF.is_empty() && !P::Service::holds_any(&identity, P::ANY_OF) {
                return Err(P::Service::insufficient_rights());
            }
            Ok(Caller {
                identity,
                policy: PhantomData,
            })
        })
    }
}

/// Declares policy markers of one service:
/// `policies!(CasesState, Role; /// doc
/// Write => [Write]; …)`.
#[macro_export]
macro_rules! policies {
    ($service:ty, $role:ident; $($(#[$doc:meta])* $name:ident => [$($member:ident),*];)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl $crate::caller::Policy for $name {
            type Service = $service;
            const ANY_OF: &'static [$role] = &[$($role::$member),*];
        }
    )*};
}
