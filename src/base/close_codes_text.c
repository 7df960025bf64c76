/* Descriptions of every close-code row, in English, Spanish, Portuguese and French (UTF-8).
 *
 * Written for wsclean from RFC 6455 section 7.4, the IANA registry and the WHATWG WebSockets
 * standard; not translated from any other table. Each text says what the code means, who sends
 * it and what a receiver does with it. Keep the four languages saying the same thing: when one
 * changes, change all four (tests check that none is empty or left in English).
 */
#include "base/close_codes_text.h"

const ws__close_text ws__close_texts[] = {
    {0,
     999,
     {"Not used. RFC 6455 (7.4.2) defines no code below 1000, so none of these may appear in a "
      "close frame; an endpoint that receives one fails the connection with 1002.",
      "Sin uso. La RFC 6455 (7.4.2) no define ningún código por debajo de 1000, así que ninguno "
      "puede aparecer en una trama de cierre; el extremo que reciba uno hace fallar la conexión "
      "con 1002.",
      "Sem uso. A RFC 6455 (7.4.2) não define nenhum código abaixo de 1000, portanto nenhum deles "
      "pode aparecer num quadro de fechamento; o ponto final que receber um deles faz a conexão "
      "falhar com 1002.",
      "Inutilisés. La RFC 6455 (7.4.2) ne définit aucun code inférieur à 1000 : aucun ne peut donc "
      "figurer dans une trame de fermeture, et le point de terminaison qui en reçoit un fait "
      "échouer la connexion avec 1002."}},
    {1000,
     1000,
     {"Normal closure: the purpose for which the connection was established has been fulfilled. "
      "The only code below 3000 that the browser's close() accepts, and the code sent when close() "
      "is given a reason but no code.",
      "Cierre normal: la conexión cumplió el propósito para el que se estableció. Es el único "
      "código inferior a 3000 que acepta close() en el navegador, y el que se envía cuando close() "
      "recibe un motivo sin código.",
      "Fechamento normal: a conexão cumpriu o propósito para o qual foi estabelecida. É o único "
      "código abaixo de 3000 aceito pelo close() do navegador, e o enviado quando close() recebe "
      "um motivo sem código.",
      "Fermeture normale : la connexion a rempli l'objectif pour lequel elle avait été établie. "
      "C'est le seul code inférieur à 3000 qu'accepte close() dans le navigateur, et celui qui est "
      "envoyé quand close() reçoit une raison sans code."}},
    {1001,
     1001,
     {"Going away: the endpoint is leaving, for example a server shutting down or a browser "
      "navigating away from the page that opened the connection. Servers send it when they drain "
      "connections so that clients reconnect elsewhere.",
      "Se retira: el extremo se va; por ejemplo, un servidor que se apaga o un navegador que "
      "abandona la página que abrió la conexión. Los servidores lo envían al vaciar sus conexiones "
      "para que los clientes se reconecten en otro lugar.",
      "Saindo: o ponto final está indo embora, por exemplo um servidor sendo desligado ou um "
      "navegador que sai da página que abriu a conexão. Servidores o enviam ao esvaziar suas "
      "conexões para que os clientes se reconectem em outro lugar.",
      "Départ : le point de terminaison s'en va, par exemple un serveur qui s'arrête ou un "
      "navigateur qui quitte la page ayant ouvert la connexion. Les serveurs l'envoient quand ils "
      "vident leurs connexions, pour que les clients se reconnectent ailleurs."}},
    {1002,
     1002,
     {"Protocol error: the endpoint is terminating the connection because the peer broke RFC "
      "6455, e.g. an unmasked client frame, a reserved opcode, a fragmented control frame or a "
      "close frame carrying a code that may not be on the wire.",
      "Error de protocolo: el extremo termina la conexión porque el otro lado incumplió la RFC "
      "6455; por ejemplo, una trama de cliente sin enmascarar, un código de operación reservado, "
      "una trama de control fragmentada o una trama de cierre con un código que no puede viajar "
      "por la red.",
      "Erro de protocolo: o ponto final está encerrando a conexão porque o outro lado violou a RFC "
      "6455, por exemplo um quadro de cliente sem máscara, um opcode reservado, um quadro de "
      "controle fragmentado ou um quadro de fechamento com um código que não pode trafegar na "
      "rede.",
      "Erreur de protocole : le point de terminaison met fin à la connexion parce que l'autre "
      "partie a enfreint la RFC 6455, par exemple une trame client non masquée, un opcode réservé, "
      "une trame de contrôle fragmentée ou une trame de fermeture portant un code interdit sur le "
      "réseau."}},
    {1003,
     1003,
     {"Unsupported data: the endpoint received a type of data it cannot accept, e.g. an endpoint "
      "that only understands text received a binary message.",
      "Datos no admitidos: el extremo recibió un tipo de datos que no puede aceptar; por ejemplo, "
      "un extremo que solo entiende texto recibió un mensaje binario.",
      "Dados não suportados: o ponto final recebeu um tipo de dado que não pode aceitar, por "
      "exemplo um ponto final que só entende texto recebeu uma mensagem binária.",
      "Données non prises en charge : le point de terminaison a reçu un type de données qu'il ne "
      "peut pas accepter, par exemple un message binaire alors qu'il ne comprend que le texte."}},
    {1004,
     1004,
     {"Reserved: RFC 6455 keeps it for a meaning that may be defined in the future. It has none "
      "today, so it must not be sent, and a close frame carrying it is a protocol error (1002).",
      "Reservado: la RFC 6455 lo guarda para un significado que podría definirse en el futuro. Hoy "
      "no tiene ninguno, así que no debe enviarse, y una trama de cierre que lo contenga es un "
      "error de protocolo (1002).",
      "Reservado: a RFC 6455 o guarda para um significado que poderá ser definido no futuro. Hoje "
      "não tem nenhum, portanto não deve ser enviado, e um quadro de fechamento que o contenha é "
      "um erro de protocolo (1002).",
      "Réservé : la RFC 6455 le garde pour une signification qui pourrait être définie plus tard. "
      "Il n'en a aucune aujourd'hui : il ne doit pas être envoyé, et une trame de fermeture qui le "
      "porte est une erreur de protocole (1002)."}},
    {1005,
     1005,
     {"No status received: never sent in a frame. The receiving endpoint reports it locally when "
      "the peer's close frame had an empty body (no code at all), e.g. after close() was called "
      "without arguments.",
      "Sin código de estado: nunca se envía en una trama. El extremo receptor lo informa "
      "localmente cuando la trama de cierre del otro lado llegó con el cuerpo vacío (sin ningún "
      "código), por ejemplo tras llamar a close() sin argumentos.",
      "Nenhum status recebido: nunca é enviado num quadro. O ponto final receptor o informa "
      "localmente quando o quadro de fechamento do outro lado chegou com o corpo vazio (sem "
      "código algum), por exemplo depois de close() ser chamado sem argumentos.",
      "Aucun statut reçu : jamais envoyé dans une trame. Le point de terminaison récepteur le "
      "signale localement quand la trame de fermeture de l'autre partie avait un corps vide "
      "(aucun code), par exemple après un appel à close() sans argument."}},
    {1006,
     1006,
     {"Abnormal closure: never sent in a frame. Reported locally when the connection ended "
      "without a close frame being received: a TCP reset or EOF, a failed opening handshake, a "
      "server that refuses or does not answer, a timeout, or a connection this side failed. "
      "Browsers tell scripts no more; wsclean adds its diagnostics beside the CloseEvent.",
      "Cierre anómalo: nunca se envía en una trama. Se informa localmente cuando la conexión "
      "terminó sin recibir una trama de cierre: un reinicio o fin de TCP, una negociación de "
      "apertura fallida, un servidor que rechaza o no responde, un tiempo de espera agotado o una "
      "conexión que este lado hizo fallar. Los navegadores no dan más detalles a los scripts; "
      "wsclean añade sus diagnósticos junto al CloseEvent.",
      "Fechamento anormal: nunca é enviado num quadro. É informado localmente quando a conexão "
      "terminou sem que um quadro de fechamento fosse recebido: reset ou EOF do TCP, falha no "
      "handshake de abertura, servidor que recusa ou não responde, tempo esgotado, ou uma conexão "
      "que este lado fez falhar. Os navegadores não dão mais detalhes aos scripts; o wsclean "
      "acrescenta seus diagnósticos ao lado do CloseEvent.",
      "Fermeture anormale : jamais envoyé dans une trame. Signalé localement quand la connexion "
      "s'est terminée sans qu'aucune trame de fermeture ne soit reçue : réinitialisation ou fin "
      "TCP, échec de la poignée de main d'ouverture, serveur qui refuse ou ne répond pas, délai "
      "dépassé, ou connexion que ce côté a fait échouer. Les navigateurs n'en disent pas plus aux "
      "scripts ; wsclean ajoute ses diagnostics à côté du CloseEvent."}},
    {1007,
     1007,
     {"Invalid payload data: the endpoint received data inconsistent with the type of its "
      "message, most often a text message (or a close reason) that is not valid UTF-8 (RFC 6455 "
      "8.1).",
      "Datos de carga no válidos: el extremo recibió datos que no concuerdan con el tipo del "
      "mensaje; casi siempre, un mensaje de texto (o un motivo de cierre) que no es UTF-8 válido "
      "(RFC 6455 8.1).",
      "Dados de carga inválidos: o ponto final recebeu dados incoerentes com o tipo da mensagem, "
      "quase sempre uma mensagem de texto (ou um motivo de fechamento) que não é UTF-8 válido "
      "(RFC 6455 8.1).",
      "Données utiles invalides : le point de terminaison a reçu des données incohérentes avec le "
      "type du message, le plus souvent un message texte (ou une raison de fermeture) qui n'est "
      "pas de l'UTF-8 valide (RFC 6455 8.1)."}},
    {1008,
     1008,
     {"Policy violation: the endpoint received a message that violates its policy. A generic code "
      "for when no more specific one (such as 1003 or 1009) fits, or when the details of the "
      "policy should stay hidden.",
      "Violación de política: el extremo recibió un mensaje que infringe su política. Es un código "
      "genérico para cuando no encaja otro más concreto (como 1003 o 1009) o cuando conviene no "
      "revelar los detalles de la política.",
      "Violação de política: o ponto final recebeu uma mensagem que viola sua política. É um "
      "código genérico para quando nenhum mais específico (como 1003 ou 1009) se aplica, ou quando "
      "os detalhes da política devem ficar ocultos.",
      "Violation de politique : le point de terminaison a reçu un message contraire à sa "
      "politique. Code générique lorsqu'aucun code plus précis (comme 1003 ou 1009) ne convient, "
      "ou quand les détails de la politique doivent rester cachés."}},
    {1009,
     1009,
     {"Message too big: the endpoint received a message larger than it is willing to process "
      "(wsclean sends it when a message exceeds the configured maximum size).",
      "Mensaje demasiado grande: el extremo recibió un mensaje mayor de lo que está dispuesto a "
      "procesar (wsclean lo envía cuando un mensaje supera el tamaño máximo configurado).",
      "Mensagem grande demais: o ponto final recebeu uma mensagem maior do que está disposto a "
      "processar (o wsclean o envia quando uma mensagem excede o tamanho máximo configurado).",
      "Message trop gros : le point de terminaison a reçu un message plus grand que ce qu'il "
      "accepte de traiter (wsclean l'envoie quand un message dépasse la taille maximale "
      "configurée)."}},
    {1010,
     1010,
     {"Mandatory extension: sent by a client that expected the server to negotiate one or more "
      "extensions that the server's handshake response did not include; the reason should list "
      "the missing ones. A server does not use it: it fails the handshake instead.",
      "Extensión obligatoria: lo envía un cliente que esperaba que el servidor negociara una o "
      "más extensiones que la respuesta del servidor no incluyó; el motivo debería enumerar las "
      "que faltan. Un servidor no lo usa: en su lugar, hace fallar la negociación de apertura.",
      "Extensão obrigatória: enviado por um cliente que esperava que o servidor negociasse uma ou "
      "mais extensões ausentes da resposta do handshake; o motivo deve listar as que faltam. Um "
      "servidor não o usa: em vez disso, faz o handshake falhar.",
      "Extension obligatoire : envoyé par un client qui attendait du serveur la négociation d'une "
      "ou plusieurs extensions absentes de sa réponse de poignée de main ; la raison devrait "
      "lister celles qui manquent. Un serveur ne l'utilise pas : il fait plutôt échouer la "
      "poignée de main."}},
    {1011,
     1011,
     {"Internal error: the endpoint met an unexpected condition that kept it from fulfilling the "
      "request, the WebSocket counterpart of HTTP 500. Usually sent by servers; clients may use it "
      "too.",
      "Error interno: el extremo encontró una condición inesperada que le impidió atender la "
      "solicitud; es el equivalente de HTTP 500. Suelen enviarlo los servidores, aunque los "
      "clientes también pueden usarlo.",
      "Erro interno: o ponto final encontrou uma condição inesperada que o impediu de atender à "
      "solicitação; é o equivalente ao HTTP 500. Normalmente é enviado por servidores, mas "
      "clientes também podem usá-lo.",
      "Erreur interne : le point de terminaison a rencontré une condition inattendue qui l'a "
      "empêché de satisfaire la requête ; c'est l'équivalent de HTTP 500. Surtout envoyé par les "
      "serveurs, mais les clients peuvent aussi l'utiliser."}},
    {1012,
     1012,
     {"Service restart: the server is closing because it is restarting. The client may reconnect, "
      "preferably after a short random delay so that all clients do not return at once.",
      "Reinicio del servicio: el servidor cierra porque se está reiniciando. El cliente puede "
      "volver a conectarse, preferiblemente tras una breve espera aleatoria para que no regresen "
      "todos los clientes a la vez.",
      "Reinício do serviço: o servidor está fechando porque está reiniciando. O cliente pode se "
      "reconectar, de preferência após um breve atraso aleatório para que os clientes não voltem "
      "todos ao mesmo tempo.",
      "Redémarrage du service : le serveur ferme parce qu'il redémarre. Le client peut se "
      "reconnecter, de préférence après un court délai aléatoire pour que tous les clients ne "
      "reviennent pas en même temps."}},
    {1013,
     1013,
     {"Try again later: the server is closing because of a temporary condition, e.g. it is "
      "overloaded and is shedding some of its clients. The client may reconnect later, backing "
      "off between attempts.",
      "Inténtelo más tarde: el servidor cierra por una condición temporal; por ejemplo, está "
      "sobrecargado y se desprende de algunos clientes. El cliente puede volver a conectarse más "
      "tarde, espaciando los reintentos.",
      "Tente novamente mais tarde: o servidor está fechando por uma condição temporária, por "
      "exemplo uma sobrecarga que o leva a dispensar alguns clientes. O cliente pode se "
      "reconectar mais tarde, espaçando as tentativas.",
      "Réessayez plus tard : le serveur ferme à cause d'une condition temporaire, par exemple une "
      "surcharge qui l'oblige à se délester de certains clients. Le client peut se reconnecter "
      "plus tard, en espaçant ses tentatives."}},
    {1014,
     1014,
     {"Bad gateway: the server was acting as a gateway or proxy and received an invalid response "
      "from the upstream server, like HTTP 502.",
      "Puerta de enlace incorrecta: el servidor actuaba como pasarela o proxy y recibió una "
      "respuesta no válida del servidor de origen, como en HTTP 502.",
      "Gateway inválido: o servidor atuava como gateway ou proxy e recebeu uma resposta inválida "
      "do servidor de origem, como no HTTP 502.",
      "Mauvaise passerelle : le serveur agissait comme passerelle ou proxy et a reçu une réponse "
      "invalide du serveur en amont, comme avec HTTP 502."}},
    {1015,
     1015,
     {"TLS handshake failure: never sent in a frame. Reported locally when the connection closed "
      "because the TLS handshake failed, e.g. the server's certificate could not be verified. "
      "Browsers report 1006 instead, as WHATWG requires.",
      "Fallo de la negociación TLS: nunca se envía en una trama. Se informa localmente cuando la "
      "conexión se cerró porque falló la negociación TLS; por ejemplo, no se pudo verificar el "
      "certificado del servidor. Los navegadores informan 1006 en su lugar, como exige el WHATWG.",
      "Falha no handshake TLS: nunca é enviado num quadro. É informado localmente quando a "
      "conexão foi fechada porque o handshake TLS falhou, por exemplo quando o certificado do "
      "servidor não pôde ser verificado. Os navegadores informam 1006 em seu lugar, como exige o "
      "WHATWG.",
      "Échec de la poignée de main TLS : jamais envoyé dans une trame. Signalé localement quand la "
      "connexion s'est fermée parce que la négociation TLS a échoué, par exemple quand le "
      "certificat du serveur n'a pas pu être vérifié. Les navigateurs signalent 1006 à la place, "
      "comme l'exige le WHATWG."}},
    {1016,
     1999,
     {"Unassigned. RFC 6455 reserves 1000-2999 for the protocol itself, its future revisions and "
      "extensions with a public specification (IANA: Standards Action). None of these codes has a "
      "meaning yet, so receiving one fails the connection with 1002.",
      "Sin asignar. La RFC 6455 reserva 1000-2999 para el propio protocolo, sus revisiones "
      "futuras y las extensiones con una especificación pública (IANA: Standards Action). Ninguno "
      "de estos códigos tiene significado todavía, así que recibir uno hace fallar la conexión "
      "con 1002.",
      "Não atribuídos. A RFC 6455 reserva 1000-2999 para o próprio protocolo, suas revisões "
      "futuras e extensões com especificação pública (IANA: Standards Action). Nenhum destes "
      "códigos tem significado ainda, portanto receber um deles faz a conexão falhar com 1002.",
      "Non attribués. La RFC 6455 réserve 1000-2999 au protocole lui-même, à ses révisions "
      "futures et aux extensions dotées d'une spécification publique (IANA : Standards Action). "
      "Aucun de ces codes n'a encore de sens : en recevoir un fait échouer la connexion avec "
      "1002."}},
    {2000,
     2999,
     {"Unassigned. Part of the 1000-2999 block that RFC 6455 reserves for the protocol and its "
      "publicly specified extensions; by convention (not by the RFC) extensions take their codes "
      "from here. None is registered, so receiving one fails the connection with 1002.",
      "Sin asignar. Forma parte del bloque 1000-2999 que la RFC 6455 reserva para el protocolo y "
      "sus extensiones con especificación pública; por convención (no por la RFC), las "
      "extensiones toman sus códigos de aquí. No hay ninguno registrado, así que recibir uno hace "
      "fallar la conexión con 1002.",
      "Não atribuídos. Fazem parte do bloco 1000-2999 que a RFC 6455 reserva ao protocolo e às "
      "suas extensões especificadas publicamente; por convenção (não pela RFC), as extensões "
      "tiram seus códigos daqui. Nenhum está registrado, portanto receber um deles faz a conexão "
      "falhar com 1002.",
      "Non attribués. Cette plage fait partie du bloc 1000-2999 que la RFC 6455 réserve au "
      "protocole et à ses extensions publiquement spécifiées ; par convention (et non d'après la "
      "RFC), les extensions y prennent leurs codes. Aucun n'est enregistré : en recevoir un fait "
      "échouer la connexion avec 1002."}},
    {3000,
     3999,
     {"For libraries, frameworks and applications; registered directly with IANA, first come "
      "first served. The protocol does not define their meaning: the registrant does (3000, 3003 "
      "and 3008 are registered). Valid on the wire, and accepted by the browser's close().",
      "Para bibliotecas, frameworks y aplicaciones; se registran directamente en la IANA por "
      "orden de llegada. El protocolo no define su significado: lo fija quien los registra "
      "(3000, 3003 y 3008 están registrados). Son válidos en la red y close() en el navegador los "
      "acepta.",
      "Para bibliotecas, frameworks e aplicações; registrados diretamente na IANA por ordem de "
      "chegada. O protocolo não define seu significado: quem os registra o define (3000, 3003 e "
      "3008 estão registrados). São válidos na rede e aceitos pelo close() do navegador.",
      "Pour les bibliothèques, frameworks et applications ; enregistrés directement auprès de "
      "l'IANA, premier arrivé, premier servi. Le protocole n'en définit pas le sens : c'est celui "
      "qui l'enregistre qui le fixe (3000, 3003 et 3008 sont enregistrés). Valides sur le réseau "
      "et acceptés par close() dans le navigateur."}},
    {3000,
     3000,
     {"Unauthorized: registered with IANA; the number mirrors HTTP 401. The endpoint (usually a "
      "server) closes because the peer has not authenticated or its credentials are missing or "
      "invalid; authenticating again may help.",
      "No autorizado: registrado en la IANA; el número refleja el HTTP 401. El extremo "
      "(normalmente un servidor) cierra porque el otro lado no se autenticó o sus credenciales "
      "faltan o no son válidas; volver a autenticarse puede resolverlo.",
      "Não autorizado: registrado na IANA; o número espelha o HTTP 401. O ponto final "
      "(geralmente um servidor) fecha porque o outro lado não se autenticou ou suas credenciais "
      "estão ausentes ou são inválidas; autenticar-se de novo pode resolver.",
      "Non autorisé : enregistré auprès de l'IANA ; le numéro fait écho à HTTP 401. Le point de "
      "terminaison (en général un serveur) ferme parce que l'autre partie ne s'est pas "
      "authentifiée ou que ses identifiants manquent ou sont invalides ; s'authentifier à "
      "nouveau peut résoudre le problème."}},
    {3003,
     3003,
     {"Forbidden: registered with IANA; the number mirrors HTTP 403. The endpoint (usually a "
      "server) knows who the peer is but refuses it access to the resource; authenticating again "
      "will not help.",
      "Prohibido: registrado en la IANA; el número refleja el HTTP 403. El extremo (normalmente "
      "un servidor) sabe quién es el otro lado pero le niega el acceso al recurso; volver a "
      "autenticarse no servirá de nada.",
      "Proibido: registrado na IANA; o número espelha o HTTP 403. O ponto final (geralmente um "
      "servidor) sabe quem é o outro lado, mas lhe nega acesso ao recurso; autenticar-se de novo "
      "não adianta.",
      "Interdit : enregistré auprès de l'IANA ; le numéro fait écho à HTTP 403. Le point de "
      "terminaison (en général un serveur) sait qui est l'autre partie mais lui refuse l'accès à "
      "la ressource ; s'authentifier à nouveau n'y changera rien."}},
    {3008,
     3008,
     {"Timeout: registered with IANA; the number mirrors HTTP 408. The endpoint closes because "
      "something it was waiting for (a message, a reply, authentication) did not arrive in time.",
      "Tiempo agotado: registrado en la IANA; el número refleja el HTTP 408. El extremo cierra "
      "porque algo que esperaba (un mensaje, una respuesta, la autenticación) no llegó a tiempo.",
      "Tempo esgotado: registrado na IANA; o número espelha o HTTP 408. O ponto final fecha "
      "porque algo que esperava (uma mensagem, uma resposta, a autenticação) não chegou a tempo.",
      "Délai dépassé : enregistré auprès de l'IANA ; le numéro fait écho à HTTP 408. Le point de "
      "terminaison ferme parce que ce qu'il attendait (un message, une réponse, une "
      "authentification) n'est pas arrivé à temps."}},
    {4000,
     4999,
     {"Private use: these codes cannot be registered; applications agree on their meaning among "
      "themselves. Valid on the wire and accepted by the browser's close(); the usual choice for "
      "an application's own reasons.",
      "Uso privado: estos códigos no pueden registrarse; las aplicaciones acuerdan su significado "
      "entre sí. Son válidos en la red y close() en el navegador los acepta; es la elección "
      "habitual para los motivos propios de una aplicación.",
      "Uso privado: estes códigos não podem ser registrados; as aplicações combinam seu "
      "significado entre si. São válidos na rede e aceitos pelo close() do navegador; é a escolha "
      "habitual para os motivos próprios de uma aplicação.",
      "Usage privé : ces codes ne peuvent pas être enregistrés ; les applications conviennent "
      "entre elles de leur sens. Valides sur le réseau et acceptés par close() dans le "
      "navigateur ; c'est le choix habituel pour les raisons propres à une application."}},
    {5000,
     65535,
     {"Invalid: RFC 6455 defines no range above 4999. These codes must not be sent; receiving one "
      "fails the connection with 1002, and the browser's close() rejects them "
      "(InvalidAccessError).",
      "No válidos: la RFC 6455 no define ningún rango por encima de 4999. Estos códigos no deben "
      "enviarse; recibir uno hace fallar la conexión con 1002, y close() en el navegador los "
      "rechaza (InvalidAccessError).",
      "Inválidos: a RFC 6455 não define nenhuma faixa acima de 4999. Estes códigos não devem ser "
      "enviados; receber um deles faz a conexão falhar com 1002, e o close() do navegador os "
      "rejeita (InvalidAccessError).",
      "Invalides : la RFC 6455 ne définit aucune plage au-delà de 4999. Ces codes ne doivent pas "
      "être envoyés ; en recevoir un fait échouer la connexion avec 1002, et close() dans le "
      "navigateur les refuse (InvalidAccessError)."}},
};

const size_t ws__close_texts_count = sizeof ws__close_texts / sizeof ws__close_texts[0];
